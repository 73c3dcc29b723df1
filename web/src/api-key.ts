/**
 * The API key the dashboard sends, kept in sessionStorage: it lives as long as the tab and is
 * never written to disk for later sessions or shared with other tabs and windows, as
 * localStorage would be. An operator's key then does not outlive the visit on a shared machine.
 */
const STORAGE_KEY = 'trellis.apiKey';

type Listener = () => void;
const listeners = new Set<Listener>();

export function apiKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** Stores (or, with null, forgets) the key and tells every listener (the socket reconnects with it). */
export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
  listeners.forEach((listener) => listener());
}

export function onApiKeyChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The Authorization header value for the stored key, if any. */
export function authorization(): string | undefined {
  const key = apiKey();
  return key ? `Bearer ${key}` : undefined;
}
