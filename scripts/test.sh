#!/usr/bin/env bash
# The test command (`npm test`): real Prometheus, Alertmanager, sshd and PostgreSQL are part of the suite,
# so it installs them when missing and never skips what needs them.
# Extra arguments go to jest. The last line of output is always "N passed, N failed".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# binary -> Debian package that provides it
declare -A PACKAGE_OF=(
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [amtool]=prometheus-alertmanager
  [sshd]=openssh-server
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [curl]=curl   # deploy/host/vllm-wait-ready, run by the rehearsal's hosts
  [initdb]=postgresql   # jest's global setup starts a private cluster (test/support/postgres.ts)
  [pg_ctl]=postgresql
  [chromium]=chromium   # the console's browser tests (test/browser), driven by playwright-core
)

has_binary() {
  command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]] || compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null
}

missing_packages() {
  local bin
  for bin in "${!PACKAGE_OF[@]}"; do
    has_binary "$bin" || echo "${PACKAGE_OF[$bin]}"
  done | sort -u
}

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    echo "test.sh: need root or passwordless sudo to install: $*" >&2
    return 1
  fi
}

install_packages() {
  local packages
  packages=$(missing_packages)
  [[ -z "$packages" ]] && return 0
  echo "test.sh: installing missing Debian packages: $(echo $packages)"
  # Keep package scripts from starting system daemons (a system sshd on :22) on a CI machine.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    created_policy=1
  fi
  local status=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || status=$?
  if [[ $status -eq 0 ]]; then
    # shellcheck disable=SC2086 # one word per package
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages || status=$?
  fi
  [[ $created_policy -eq 1 ]] && as_root rm -f "$policy"
  return "$status"
}

summary() { # passed failed
  echo "$1 passed, $2 failed"
}

if ! install_packages; then
  echo "test.sh: FATAL: could not install the Debian packages the tests need" >&2
  summary 0 1
  exit 1
fi
still_missing=$(missing_packages)
if [[ -n "$still_missing" ]]; then
  echo "test.sh: FATAL: binaries still missing after install (packages: $(echo $still_missing)); the suite never skips them" >&2
  summary 0 1
  exit 1
fi

failed_steps=()
for step in build build:demo typecheck lint; do
  echo "test.sh: npm run $step"
  if ! npm run --silent "$step"; then
    echo "test.sh: npm run $step FAILED" >&2
    failed_steps+=("$step")
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/remediator-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
jest_status=0
# --json writes the machine-readable report to the file; the usual report still goes to the console.
# --forceExit: a leaked handle must fail loudly in a test, not hang CI for ever.
NODE_OPTIONS=--experimental-vm-modules npx jest --json --outputFile="$work/jest.json" --forceExit "$@" || jest_status=$?

read -r passed failed < <(node -e '
  const fs = require("node:fs");
  let r;
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch { console.log("0 1"); process.exit(0); }
  const passed = r.numPassedTests ?? 0;
  let failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  // jest failed for a reason that no test counts (no tests found, a crashed worker): still a failure.
  if (failed === 0 && (Number(process.argv[2]) !== 0 || r.success === false)) failed = 1;
  console.log(passed + " " + failed);
' "$work/jest.json" "$jest_status")

failed=$((failed + ${#failed_steps[@]}))
if [[ ${#failed_steps[@]} -gt 0 ]]; then
  echo "test.sh: failed steps before jest: ${failed_steps[*]}" >&2
fi
summary "$passed" "$failed"
[[ $failed -eq 0 ]]
