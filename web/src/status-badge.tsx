/** A run's or a step's status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{status.replace('_', ' ')}</span>;
}
