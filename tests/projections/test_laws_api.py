"""Laws of the access policy and of the in-memory store's bisecting scans."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.access import Acl, Principal, Right, allowed
from projections.store import MemoryStore

subjects = st.sampled_from(["ann", "bob", "cy"])
principals = st.builds(Principal, subject=subjects,
                       role=st.sampled_from(["admin", "editor", "operator", "viewer"]))
acls = st.builds(Acl, owner=st.none() | subjects,
                 collaborators=st.lists(subjects, max_size=2).map(tuple),
                 visibility=st.sampled_from(["private", "team", "public"]))


@given(principals, acls)
def test_no_right_without_the_role_and_none_without_view(who: Principal, acl: Acl) -> None:
    for right in Right:
        if allowed(who, right, acl):
            assert who.has(right)
            assert allowed(who, Right.VIEW, acl)  # so a hidden object is a 404, never a 403


@given(principals, acls)
def test_admins_and_members_hold_every_right_their_role_grants(who: Principal, acl: Acl) -> None:
    if who.role == "admin" or acl.is_member(who.subject):
        assert all(allowed(who, r, acl) == who.has(r) for r in Right)


@given(principals, acls)
def test_outsiders_never_touch_private_or_edit_owned_objects(who: Principal, acl: Acl) -> None:
    outsider = who.role != "admin" and not acl.is_member(who.subject)
    if outsider and acl.visibility == "private":
        assert not any(allowed(who, r, acl) for r in Right)
    if outsider and acl.owner is not None:
        assert not allowed(who, Right.EDIT, acl)


keys = st.text(alphabet="ab/é\U0001f600", min_size=0, max_size=4)
batches = st.lists(st.dictionaries(keys, st.none() | st.just(b"v"), max_size=40), max_size=6)


@settings(max_examples=200)
@given(batches, keys, st.none() | keys, st.booleans())
def test_scans_equal_filtering_and_sorting_a_dict(
        writes: list[dict[str, bytes | None]], prefix: str, after: str | None, reverse: bool) -> None:
    store, model = MemoryStore(), {}
    for batch in writes:
        store.write(batch)
        for key, value in batch.items():
            if value is None:
                model.pop(key, None)
            else:
                model[key] = value
    expected = sorted((k for k in model if k.startswith(prefix)), reverse=reverse)
    if after is not None:
        expected = [k for k in expected if (k < after if reverse else k > after)]
    assert [k for k, _ in store.scan(prefix, start_after=after, reverse=reverse)] == expected
