from collections.abc import Callable
from typing import Any

class Gate:
    original: Callable[..., Any]
    guarded: Callable[..., Any]
    def __init__(
        self,
        original: Callable[..., Any],
        guarded: Callable[..., Any],
        get_running_loop: Callable[[], object],
        try_first: Callable[[Any, bool], object] | None = None,
    ) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __get__(self, obj: object, objtype: type | None = None) -> Any: ...
