"""``obj.method.sync`` / ``obj.method.async_`` compare equal per access, as ``obj.method`` does.

Found by an adversarial review; NOT fixed yet (the tests below are strict xfails):
MethodType compares ``__self__`` by identity and pickles as ``getattr(__self__, name)``,
so neither binding the entry to the instance nor caching it (which would keep the
instance alive) is a fix; what it found:

``obj.method`` of a decorated method is a new bound form per access, and bound forms
compare (and hash) as bound methods do -- same wrapper, same ``__self__`` -- so
``repo.get == repo.get``. But ``_decorator._Entry.__get__`` gives a bound form's
``.sync``/``.async_`` as ``MethodType(entry, <that bound form>)``: a method bound to
the *per-access* bound form, and ``MethodType`` compares ``__self__`` by identity.
So ``repo.get.async_ != repo.get.async_`` and their hashes differ, in C and pure
modes alike. Anything that keys on the callable breaks: FastAPI's dependency cache
(``Depends(repo.get.async_)`` used twice in one request runs the dependency twice,
where ``Depends(repo.get)`` or an undecorated bound method runs once -- a job run
twice), ``signal.disconnect(repo.get.sync)``, ``callbacks.remove(...)``.

Suggested fix: bind the entry to the *instance*, not to the bound form -- keep in
the wrapper a function ``entry(target, *args, **kwargs)`` that calls the
implementation on ``_bind(wrapper, target)`` (its ``__wrapped__`` the unbound
original, so ``inspect.signature`` still drops ``self``), and return
``MethodType(entry, bound.__self__)``: equal and equally hashed per access, as
``obj.method`` is.
"""

from __future__ import annotations

import pytest

from synchronaut_core import synchronaut


class Repo:
    @synchronaut
    def get(self, key: int = 0) -> int:
        return key

    @synchronaut
    async def fetch(self, key: int = 0) -> int:
        return key


def test_bound_form_itself_is_equal_per_access() -> None:
    repo = Repo()
    assert repo.get == repo.get  # holds today: the reference behaviour
    assert hash(repo.get) == hash(repo.get)


@pytest.mark.parametrize("name", ["get", "fetch"])
@pytest.mark.parametrize("entry", ["sync", "async_"])
@pytest.mark.xfail(strict=True, reason="bound .sync/.async_ are per access (see module docstring)")
def test_bound_entries_are_equal_per_access(name: str, entry: str) -> None:
    repo = Repo()
    first = getattr(getattr(repo, name), entry)
    second = getattr(getattr(repo, name), entry)
    assert first == second
    assert hash(first) == hash(second)
    assert first != getattr(getattr(Repo(), name), entry)  # another instance: not equal


@pytest.mark.xfail(strict=True, reason="bound .sync/.async_ are per access (see module docstring)")
def test_fastapi_dependency_cache_runs_a_bound_async_entry_once() -> None:
    fastapi = pytest.importorskip("fastapi")
    testclient = pytest.importorskip("fastapi.testclient")
    calls: list[int] = []

    class Service:
        @synchronaut
        def current(self) -> int:
            calls.append(1)
            return 7

    service = Service()
    app = fastapi.FastAPI()

    @app.get("/")
    def endpoint(
        x: int = fastapi.Depends(service.current.async_),
        y: int = fastapi.Depends(service.current.async_),
    ) -> list[int]:
        return [x, y]

    with testclient.TestClient(app) as client:
        assert client.get("/").json() == [7, 7]
    # FastAPI caches a dependency per request by its callable: once, as for
    # Depends(service.current) or an undecorated bound method.
    assert len(calls) == 1
