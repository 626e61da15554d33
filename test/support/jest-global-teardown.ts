/** Stops the PostgreSQL cluster jest's global setup started. */
export default function globalTeardown(): void {
  globalThis.remediatorTestPostgres?.destroy();
  globalThis.remediatorTestPostgres = undefined;
}
