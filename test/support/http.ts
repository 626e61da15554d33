/** Small HTTP helpers with deadlines, so a hung component fails a test instead of stalling it. */

/** fetch with a timeout (default 5 s). */
export function fetchWithTimeout(url: string, init: RequestInit = {}, timeoutMs = 5000): Promise<Response> {
  return fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
}

/** Fetches JSON; throws with the status and body text when the answer is not 2xx. */
export async function fetchJson<T>(url: string, init: RequestInit = {}, timeoutMs = 5000): Promise<T> {
  const res = await fetchWithTimeout(url, init, timeoutMs);
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${text}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** Resolves true when `url` answers 200; throws with the status otherwise (a probe for waitFor). */
export async function answers200(url: string): Promise<true | undefined> {
  const res = await fetchWithTimeout(url, {}, 2000);
  await res.body?.cancel();
  if (res.status === 200) return true;
  throw new Error(`${url} answered ${res.status}`);
}
