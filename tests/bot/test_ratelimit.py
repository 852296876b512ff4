from runtime.ratelimit import IpLimits, TokenBucket


def test_bucket_allows_burst_then_says_when_to_retry():
    bucket = TokenBucket(rate=5, burst=3)
    bucket.updated = 100.0
    assert [bucket.take(100.0) for _ in range(3)] == [0, 0, 0]
    wait = bucket.take(100.0)
    assert 0.19 < wait <= 0.2
    assert bucket.take(100.2) == 0


def test_ip_connection_limit_and_forgetting():
    limits = IpLimits(rate=1, burst=1, max_connections=2)
    assert limits.connect("1.2.3.4") and limits.connect("1.2.3.4")
    assert not limits.connect("1.2.3.4")
    limits.disconnect("1.2.3.4")
    assert limits.connect("1.2.3.4")
    limits.disconnect("1.2.3.4"), limits.disconnect("1.2.3.4")
    assert limits.connections == {} and limits.buckets == {}
