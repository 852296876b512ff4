"""benchmarks/load.py refuses settings it cannot honour, before it starts anything."""

import pytest

from benchmarks.load import parse_args


@pytest.mark.parametrize("argv", [["--nodes", "2"], ["--knee"], ["--soak", "60"],
                                  ["--knee", "--soak", "60", "--rate", "50"],
                                  ["--backend", "mysql"]])
def test_impossible_settings_are_refused_with_a_message(argv, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert "error:" in capsys.readouterr().err


def test_two_nodes_share_postgresql():
    args = parse_args(["--backend", "postgres", "--nodes", "2", "--knee", "--rate", "60"])
    assert (args.nodes, args.knee, args.rate) == (2, True, 60.0)
