"""Objects of one kind (activations, initializers, losses, metrics, optimizers) by name, and
Keras' `get` over them: a name in any case, a config dict, or an object already of the kind."""

from __future__ import annotations


class Registry:
    """`kind` names the objects in messages ('loss'); `accepts(obj)` tells whether `get` returns
    an object as it is; `hint` says what `get` takes, for its TypeError; `default` is the name
    that None stands for (None: get(None) is an error)."""

    def __init__(self, kind, accepts, hint, default=None):
        self.kind, self.accepts, self.hint, self.default = kind, accepts, hint, default
        self._names = {}  # every name as registered -> its object, for listing
        self._by_key = {}  # the same by lower-case name, for finding

    def register(self, name, obj, aliases=()):
        """Register obj under name and each alias; a name taken by another object raises."""
        for key in (name, *aliases):
            if self._by_key.get(key.lower(), obj) is not obj:
                raise ValueError(f"{self.kind} name {key!r} is already registered")
            self._names[key] = self._by_key[key.lower()] = obj
        return obj

    def names(self):
        """Every registered name and alias, sorted."""
        return sorted(self._names)

    def lookup(self, name):
        """The object registered under `name` (any case), or a ValueError listing the names."""
        if isinstance(name, str) and name.lower() in self._by_key:
            return self._by_key[name.lower()]
        raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")

    def get(self, identifier):
        """What Keras' get returns: an accepted object as it is; for a name (or None, if there
        is a default), its registered object, or a new instance with the default settings
        where that is a class; for a config {"class_name": ..., "config": {...}}, the class's
        from_config(config)."""
        if identifier is None and self.default is not None:
            identifier = self.default
        if self.accepts(identifier):
            return identifier
        if isinstance(identifier, str):
            obj = self.lookup(identifier)
            return obj() if isinstance(obj, type) else obj
        if isinstance(identifier, dict):
            cls = self.lookup(identifier.get("class_name"))
            if isinstance(cls, type):
                return cls.from_config(dict(identifier.get("config") or {}))
        article = "an" if self.kind[0] in "aeiou" else "a"
        raise TypeError(f"cannot get {article} {self.kind} from {identifier!r}: give {self.hint}")
