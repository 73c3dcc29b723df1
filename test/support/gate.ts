/**
 * A gate that stays shut until {@link open} is called: `passed()` waits for it, then resolves
 * at once for every later caller. Stub handlers await it to hold requests open.
 */
export class Gate {
  private release!: () => void;
  private readonly opened = new Promise<void>((resolve) => {
    this.release = resolve;
  });

  open(): void {
    this.release();
  }

  passed(): Promise<void> {
    return this.opened;
  }
}
