/** A module a pool's child imports before the app module, and the export it then calls, if any. */
export interface PreloadModule {
  /** A file URL or absolute path, or a bare specifier the child can resolve. */
  module: string | URL;
  /** Name of an export to call with no arguments once imported (and await), e.g. tsx's `register`. */
  call?: string;
}

/** A transport plugin a pool's child registers before it loads the app module. */
export interface TransportModule {
  /** A file URL or absolute path, or a bare specifier the child can resolve. */
  module: string | URL;
  /** The export holding the plugin, e.g. `redisTransport`. */
  exportName: string;
}

/**
 * What each thread or process of a `threads`/`processes` pool does before and after it loads the
 * app module, so that its app matches the worker's: the CLI fills it in from `-A`, `--broker` and the
 * transports it loaded. An app module that registers its own transports and names its own URLs needs
 * none of it.
 */
export interface PoolChildSetup {
  /** Modules imported first, in order: a TypeScript loader, instrumentation. */
  preload?: readonly PreloadModule[];
  /** Transport plugins registered next (`registerTransport`). */
  transports?: readonly TransportModule[];
  /** Broker URL that replaces the app module's own (`app.configure`), as the CLI's `--broker`. */
  brokerUrl?: string;
  /** Result backend URL (or null for none) that replaces the app module's own. */
  resultBackend?: string | null;
}
