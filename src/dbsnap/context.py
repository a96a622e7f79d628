"""The context every operation runs in: the configuration and the plugin manager, resolved once."""

from __future__ import annotations

import attrs

from dbsnap.config import Config
from dbsnap.plugins import Plugins, get_plugins


@attrs.frozen
class Context:
    """What an operation needs besides its arguments.

    Attributes:
        config: Settings from the environment (or given explicitly).
        plugins: The plugin manager (the process-wide one unless given).
    """

    config: Config
    plugins: Plugins

    @classmethod
    def of(cls, config: Config | None = None, plugins: Plugins | None = None) -> Context:
        """Use what is given; read the environment and the installed plugins for the rest."""
        return cls(config or Config.from_env(), plugins or get_plugins())
