/**
 * Application code under test: a small API module that owns its safefetch client. Tests pass extra
 * client options (a MockAgent as `dispatcher`, a `lookup`, a recording logger); production passes none.
 */
import { createClient, type Client, type ClientOptions } from 'safefetch'

export interface Repo {
  name: string
  stars: number
}

export function createReposClient(options: ClientOptions = {}): Client {
  return createClient({
    name: 'repos',
    baseUrl: 'https://api.example.com',
    headers: { accept: 'application/json' },
    timeout: { total: 10_000, headers: 5_000 },
    retry: { limit: 2 },
    ...options,
  })
}

export async function getRepo(client: Client, name: string): Promise<Repo> {
  const res = await client.fetch(`/repos/${encodeURIComponent(name)}`)
  if (!res.ok) throw new Error(`GET /repos/${name} answered ${res.status}`)
  return (await res.json()) as Repo
}
