/**
 * Stands in for codemirror-json-schema's Markdown renderer (see vite.config.ts): the definition
 * schema's descriptions are plain text, so they are only escaped for the innerHTML they land in.
 */
export function renderMarkdown(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
