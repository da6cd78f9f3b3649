"""The public API: what `omnikit` exports, and nothing private leaking."""

from __future__ import annotations

import omnikit
import omnikit.errors


def test_all_is_sorted_and_complete() -> None:
    """`__all__` is sorted and lists exactly the public names of the package."""
    public = {name for name in vars(omnikit) if not name.startswith(("_", "@"))}
    modules = {"converters", "errors", "stores", "rules", "testing", "simulate"}

    assert sorted(omnikit.__all__) == omnikit.__all__
    assert set(omnikit.__all__) == public - (modules - set(omnikit.__all__))


def test_every_error_is_an_omnikit_error() -> None:
    """Every exception class in `omnikit.errors` derives from `OmnikitError`."""
    classes = [getattr(omnikit.errors, name) for name in omnikit.errors.__all__]

    assert all(issubclass(cls, omnikit.errors.OmnikitError) for cls in classes)
    assert issubclass(omnikit.errors.NotFoundError, LookupError)
    assert issubclass(omnikit.errors.ValidationError, ValueError)


def test_version_is_read_lazily() -> None:
    """`omnikit.__version__` comes from the installed metadata."""
    assert omnikit.__version__.startswith("0.")


def test_two_hubs_never_see_each_other() -> None:
    """A hub holds no global state."""
    one, two = omnikit.Hub(), omnikit.Hub()
    one.identify(user_id="u1", traits={"email": "ana@example.com"})

    assert two.customer(user_id="u1") is None
    assert one.customer(user_id="u1") is not None
