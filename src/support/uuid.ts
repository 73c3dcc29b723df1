/** Whether `id` is a UUID in its canonical text form (any case): run, webhook, trigger and schedule ids are. */
export function isUuid(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}
