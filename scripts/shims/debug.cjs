// Stands in for the `debug` package in the compiled binary (see build-binary.ts). mqtt-packet calls
// debug() about 60 times per message, and even switched off each call builds a rest-arguments array
// and runs an `enabled` getter: a tenth of the broker's CPU under load. Without DEBUG in the
// environment every logger is an empty function; with it, the real package takes over.
const real = process.env.DEBUG ? require("debug/src/index.js") : undefined;

function noop() {}

function createDebug(namespace) {
  if (real) return real(namespace);
  const debug = function debug() {};
  debug.namespace = namespace;
  debug.enabled = false;
  debug.log = noop;
  debug.destroy = noop;
  debug.extend = (suffix, delimiter = ":") => createDebug(namespace + delimiter + suffix);
  return debug;
}

createDebug.enable = (namespaces) => real?.enable(namespaces);
createDebug.disable = () => real?.disable() ?? "";
createDebug.enabled = (name) => real?.enabled(name) ?? false;
createDebug.debug = createDebug;
createDebug.default = createDebug;
createDebug.formatters = real?.formatters ?? {};
module.exports = createDebug;
