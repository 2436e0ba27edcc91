export {
  type AutoloadTransportsOptions,
  autoloadTransports,
  type LabeledUrl,
  type LoadedTransport,
  type TransportPackage,
} from "./autoload-transports.js";
export { ExitStatus, type ExitStatusValue } from "./cli-error.js";
export { isApp, type LoadAppOptions, type LoadedApp, loadApp } from "./load-app.js";
export { type MainOptions, main } from "./main.js";
