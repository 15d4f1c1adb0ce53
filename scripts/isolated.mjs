#!/usr/bin/env node
/**
 * Runs a command inside a fresh network namespace that has only loopback, so that a bug in the
 * SSRF guard cannot send a single packet to 10.x or 169.254.169.254: any stray connect fails with
 * ENETUNREACH. A few private addresses are added to `lo` as the tests' own hosts (they exist only
 * inside this namespace) and announced in SAFEFETCH_TEST_HOSTS, which the tripwire allows.
 *
 * Where unprivileged user namespaces are not permitted, it warns and runs the command directly;
 * the tripwire (test/support/tripwire.ts) still fails any test that connects outside loopback.
 */
import { spawnSync } from 'node:child_process'

const command = process.argv.slice(2)
if (command.length === 0) {
  console.error('usage: node scripts/isolated.mjs <command> [args...]')
  process.exit(2)
}

/** Test hosts: one per kind of range the tests need a live server in. */
const TEST_HOSTS = ['10.255.0.1', '192.168.255.1', 'fd00:5afe::1']

if (process.env.SAFEFETCH_NETNS === '1') {
  // Already inside the namespace (e.g. .ci/run wrapped us): run as is.
  process.exit(run(command[0], command.slice(1)))
}

const probe = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' })
if (probe.status !== 0) {
  console.warn('WARNING: unshare -rn is not permitted here; running WITHOUT network isolation (the connect tripwire is still active).')
  process.exit(run(command[0], command.slice(1), { SAFEFETCH_NETNS: '0' }))
}

const setup = ['set -e', 'ip link set lo up', ...TEST_HOSTS.map((host) => `ip addr add ${host}/${host.includes(':') ? 128 : 32} dev lo`), 'exec "$@"'].join(
  '; ',
)
process.exit(
  run('unshare', ['-rn', 'sh', '-c', setup, 'isolated', ...command], {
    SAFEFETCH_NETNS: '1',
    SAFEFETCH_TEST_HOSTS: TEST_HOSTS.join(','),
  }),
)

function run(file, args, env = {}) {
  const result = spawnSync(file, args, { stdio: 'inherit', env: { ...process.env, ...env } })
  if (result.error) {
    console.error(result.error.message)
    return 1
  }
  return result.status ?? (result.signal ? 1 : 0)
}
