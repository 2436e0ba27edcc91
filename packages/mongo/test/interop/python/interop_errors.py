"""Exception classes of a module tq does not know, for the interop tests' stored failures."""


class PaymentDeclined(Exception):
    """Raised with two args, so exc_message is a list of more than one value."""


class Outer:
    class Nested(Exception):
        """A class whose qualified name has a dot (Celery stores ``__qualname__``)."""
