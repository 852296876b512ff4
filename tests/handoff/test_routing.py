"""Routing table: every business option, language and region goes to the queue 12367 uses."""

import pytest

from handoff.routing import BUSINESS_OPTIONS, RoutingError, load_table, route
from handoff.settings import HandoffSettings

TABLE = load_table(HandoffSettings().routing_file)

CASES = [
    # lang, option, region, overseas -> queue, rule
    ("zh", "port_clearance", "广东省", False, "border:guangdong", "port_clearance:province"),
    ("zh", "port_clearance", "深圳", False, "border:guangdong", "port_clearance:province"),
    ("zh", "port_clearance", "上海", False, "border:shanghai", "port_clearance:province"),
    ("zh", "port_clearance", "瑞丽", False, "border:yunnan", "port_clearance:province"),
    ("zh", "port_clearance", "黑河市", False, "border:heilongjiang", "port_clearance:province"),
    ("zh", "port_clearance", "四川省", False, "border:national", "port_clearance:no_regional_queue"),
    ("zh", "port_clearance", None, False, "border:national", "port_clearance:region_unknown"),
    ("zh", "entry_exit_documents", "深圳市", False, "exit-entry:shenzhen", "entry_exit_documents:city"),
    ("zh", "entry_exit_documents", "广州", False, "exit-entry:guangdong", "entry_exit_documents:province"),
    ("zh", "entry_exit_documents", "廣東", False, "exit-entry:guangdong", "entry_exit_documents:province"),
    ("zh", "entry_exit_documents", "杭州", False, "exit-entry:zhejiang", "entry_exit_documents:province"),
    ("zh", "entry_exit_documents", "厦门", False, "exit-entry:fujian", "entry_exit_documents:province"),
    ("zh", "entry_exit_documents", "北京市", False, "exit-entry:beijing", "entry_exit_documents:province"),
    ("zh", "entry_exit_documents", "新疆", False, "exit-entry:national", "entry_exit_documents:no_regional_queue"),
    ("zh", "entry_exit_documents", "火星", False, "exit-entry:national", "entry_exit_documents:region_unknown"),
    ("zh", "comments_suggestions", "广东", False, "nia-service-center", "comments_suggestions"),
    ("zh", "comments_suggestions", None, False, "nia-service-center", "comments_suggestions"),
    ("zh", None, None, False, "nia-service-center", "no_business_option"),
    ("en", "port_clearance", "Guangdong", False, "nia-service-center", "english"),
    ("en", "entry_exit_documents", "深圳", False, "nia-service-center", "english"),
    ("en", "comments_suggestions", None, False, "nia-service-center", "english"),
    ("en", None, None, False, "nia-service-center", "english"),
    ("zh", "port_clearance", "广东", True, "nia-service-center", "overseas"),
    ("zh", "entry_exit_documents", None, True, "nia-service-center", "overseas"),
    ("en", "port_clearance", None, True, "nia-service-center", "overseas"),
]


@pytest.mark.parametrize("lang,option,region,overseas,queue,rule", CASES)
def test_route_table(lang, option, region, overseas, queue, rule):
    r = route(lang, option, region, overseas, TABLE)
    assert (r.queue_id, r.rule) == (queue, rule)


def test_all_31_mainland_divisions_are_known_and_route_somewhere():
    assert len(TABLE.regions) == 31
    for region in TABLE.regions:
        for option in BUSINESS_OPTIONS:
            r = route("zh", option, region.zh, False, TABLE)
            assert r.queue_id in TABLE.queues
            if option != "comments_suggestions":
                assert r.region == region.id and r.region_known


def test_region_names_in_every_form_reach_the_same_province():
    for text in ("广东", "广东省", "廣東省", "Guangdong", "guangdong", " 广东 ", "深圳", "深圳市", "東莞"):
        assert TABLE.place(text).region.id == "guangdong", text


def test_unknown_region_is_never_guessed():
    r = route("zh", "entry_exit_documents", "某个小镇", False)
    assert r.region is None and not r.region_known and r.queue_id == "exit-entry:national"


def test_fallback_is_marked():
    r = route("zh", "port_clearance", "甘肃", False, TABLE)
    assert r.fallback and r.region == "gansu" and r.queue_id == TABLE.border_inspection


def test_queue_names_are_bilingual():
    for q in TABLE.queues.values():
        assert q.zh and q.en and q.en.isascii(), q


def test_unknown_business_option_is_refused():
    with pytest.raises(ValueError):
        route("zh", "visa_lottery", None, False)


def test_bad_table_is_refused(tmp_path):
    bad = tmp_path / "routing.toml"
    bad.write_text('[defaults]\nservice_center="x"\nborder_inspection="x"\nexit_entry="x"\n', "utf-8")
    with pytest.raises(RoutingError):
        load_table(bad)
