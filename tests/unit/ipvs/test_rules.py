"""The rule-set diff: applying it to the actual set always yields the desired set."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.actors.ipvs.rules import (
    DestAttrs,
    DestId,
    Method,
    OpError,
    OpKind,
    Service,
    ServiceAttrs,
    ServiceId,
    apply,
    diff,
    normalise,
)

service_ids = st.one_of(
    st.builds(
        ServiceId,
        family=st.just("inet"),
        protocol=st.sampled_from(["tcp", "udp", "sctp"]),
        address=st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        port=st.sampled_from([80, 443]),
    ),
    st.builds(
        ServiceId,
        family=st.just("inet6"),
        protocol=st.just("tcp"),
        address=st.just("2001:db8::1"),
        port=st.just(80),
    ),
    st.builds(ServiceId, family=st.just("inet"), protocol=st.just("tcp"), fwmark=st.integers(1, 3)),
)
attrs = st.builds(
    ServiceAttrs,
    scheduler=st.sampled_from(["rr", "wrr", "wlc", "sh"]),
    flags=st.sampled_from([0, 1, 4]),
    timeout=st.sampled_from([0, 300]),
)
addresses = st.sampled_from(["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"])
dest_ids = st.builds(DestId, address=addresses, port=st.sampled_from([0, 80]))
dest_attrs = st.builds(DestAttrs, weight=st.integers(0, 5), method=st.sampled_from(list(Method)))
services = st.builds(Service, attrs=attrs, dests=st.dictionaries(dest_ids, dest_attrs, max_size=4))
rule_sets = st.dictionaries(service_ids, services, max_size=6)


@settings(deadline=None, max_examples=100)
@given(desired=rule_sets, actual=rule_sets)
def test_applying_the_diff_yields_the_desired_set(desired, actual) -> None:
    ops = diff(desired, actual)
    assert apply(actual, ops) == normalise(desired)


@settings(deadline=None, max_examples=60)
@given(desired=rule_sets, actual=rule_sets)
def test_the_diff_never_touches_what_is_already_right(desired, actual) -> None:
    ops = diff(desired, actual)
    for op in ops:
        if op.kind in (OpKind.SET_SERVICE,):
            assert actual[op.service].attrs != desired[op.service].attrs
        if op.kind is OpKind.SET_DEST:
            assert actual[op.service].dests[op.dest] != desired[op.service].dests[op.dest]
        if op.kind is OpKind.DEL_DEST:
            # a service that goes entirely is deleted at once, not destination by destination
            assert op.service in desired
    assert diff(desired, apply(actual, ops)) == []


@settings(deadline=None, max_examples=60)
@given(desired=rule_sets, actual=rule_sets, foreign=rule_sets)
def test_services_outside_the_scope_are_left_alone(desired, actual, foreign) -> None:
    foreign = {k: v for k, v in foreign.items() if k not in desired and k not in actual}
    kernel = {**actual, **foreign}
    ops = diff(desired, kernel, scope=set(actual))
    result = apply(kernel, ops)
    for sid, svc in foreign.items():
        assert result[sid] == svc
    assert {k: v for k, v in result.items() if k not in foreign} == normalise(desired)


def test_weight_change_is_one_edit() -> None:
    sid = ServiceId("inet", "tcp", "10.0.0.1", 80)
    a = {sid: Service(ServiceAttrs("wrr"), {DestId("10.1.0.1", 80): DestAttrs(1)})}
    d = {sid: Service(ServiceAttrs("wrr"), {DestId("10.1.0.1", 80): DestAttrs(5)})}
    ops = diff(d, a)
    assert [(o.kind, o.dest_attrs) for o in ops] == [(OpKind.SET_DEST, DestAttrs(5))]


def test_apply_is_strict_like_the_kernel() -> None:
    sid = ServiceId("inet", "tcp", "10.0.0.1", 80)
    ops = diff({sid: Service(ServiceAttrs(), {})}, {})
    with pytest.raises(OpError):
        apply({sid: Service(ServiceAttrs(), {})}, ops)  # adding an existing service
    with pytest.raises(OpError):
        apply({}, diff({}, {sid: Service(ServiceAttrs(), {})}))  # deleting a missing one
