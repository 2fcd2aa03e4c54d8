// What the user typed wrong, checked in this process through the binary's own entry: each line is a
// UsageError with this message. The binary's edge (one line, exit 2) is pinned per subcommand in
// tests/e2e/cli-sweep.test.ts and tests/e2e/cli.test.ts.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/core/usage-error";
import { usageErrorOf } from "../support/usage-error";

const CASES: Array<[string[], RegExp]> = [
  [["ping", "--intervall", "1s"], /unknown option "--intervall"/],
  [["ping", "--interval", "fast"], /--interval: invalid duration "fast"/],
  [["ping", "--count", "0"], /--count must be an integer ≥ 1/],
  [["ping", "--qos", "3"], /--qos must be one of 0, 1, 2/],
  [["ping", "--url", "http://x"], /unsupported scheme "http:"/],
  [["broker", "--port", "70000"], /invalid port "70000"/],
  [["echo", "--port"], /option "--port" needs a value/],
  [["frobnicate"], /unknown command "frobnicate"/],
  [["ping", "--password-file", "/nonexistent/pw"], /--password-file: cannot read "\/nonexistent\/pw": no such file/],
  [["echo", "--cafile", "/nonexistent/ca.crt"], /--cafile: cannot read/],
  [["ping", "--cert", "/etc/hostname"], /--cert and --key go together/],
  [["ping", "--session-expiry", "soon"], /--session-expiry: invalid duration "soon"/],
  [["ping", "--protocol", "4.0"], /--protocol must be one of/],
  [["echo", "--keepalive", "70000"], /--keepalive must be an integer from 0 to 65535/],
  [["pub", "-m", "x"], /-t\/--topic is required/],
  [["pub", "-t", "a"], /no message given: use exactly one of -m, -f, --stdin-file, -l, -n/],
  [["pub", "-t", "a", "-m", "x", "-n"], /-m and -n together/],
  [["pub", "-t", "a/#", "-m", "x"], /--topic must not contain wildcards/],
  [["pub", "-t", "a", "-f", "/nonexistent"], /--file: cannot read "\/nonexistent": no such file/],
  [["pub", "-t", "a", "-m", "x", "--user-property", "novalue"], /--user-property: "novalue" is not key=value/],
  [["pub", "-t", "a", "-l", "--repeat", "2"], /--repeat does not go with -l/],
  [["pub", "-t", "a", "-m", "x", "--will-payload", "bye"], /the will flags need --will-topic/],
  [["sub"], /-t\/--topic is required/],
  [["sub", "-t", "a/#/b"], /--topic "a\/#\/b": # must be a whole level and the last one/],
  [["sub", "-t", "a/b+"], /\+ must be a whole level/],
  [["sub", "-t", "a", "-F", "%Z"], /--format: unknown format code "%Z"/],
  [["sub", "-t", "a", "--json", "--hex"], /--json and --hex do not go together/],
  [["sub", "-t", "a", "-C", "0"], /--count must be an integer ≥ 1/],
];

describe("usage errors", () => {
  for (const [argv, message] of CASES) {
    test(`${argv.join(" ")}: ${message.source}`, async () => {
      const outcome = await usageErrorOf(argv);
      expect(outcome).toBeInstanceOf(UsageError);
      expect((outcome as UsageError).message).toMatch(message);
    });
  }
});
