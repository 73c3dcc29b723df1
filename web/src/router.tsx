import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** The dashboard's pages, by path. */
export type Route =
  | { page: 'runs' }
  | { page: 'run'; id: string }
  | { page: 'definitions' }
  | { page: 'definition'; name: string }
  | { page: 'editor'; name?: string }
  | { page: 'not-found' };

/** The route a path names. */
export function routeOf(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [head, arg] = parts;
  if (parts.length === 0) return { page: 'runs' };
  if (head === 'runs' && parts.length === 1) return { page: 'runs' };
  if (head === 'runs' && arg && parts.length === 2) return { page: 'run', id: arg };
  if (head === 'definitions' && parts.length === 1) return { page: 'definitions' };
  if (head === 'definitions' && arg && parts.length === 2) return { page: 'definition', name: arg };
  if (head === 'editor' && parts.length <= 2) return arg ? { page: 'editor', name: arg } : { page: 'editor' };
  return { page: 'not-found' };
}

const listeners = new Set<() => void>();

/** Moves to `href` without a reload (history API). */
export function navigate(href: string): void {
  history.pushState(null, '', href);
  listeners.forEach((listener) => listener());
}

/** The current location (path and query), re-rendering on navigation and on back/forward. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const update = () => setTick((n) => n + 1);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return { pathname: location.pathname, search: new URLSearchParams(location.search) };
}

/** Replaces the query string (filters), keeping the page, without adding a history entry. */
export function replaceSearch(params: URLSearchParams): void {
  const search = params.toString();
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`);
  listeners.forEach((listener) => listener());
}

/** An in-app link: a real <a href> (open in a new tab works) that navigates without a reload. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
