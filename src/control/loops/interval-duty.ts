/**
 * A leader duty that runs `work` every `everyMs`, never two at once (a tick that finds the last
 * run still busy is skipped), logging a failure and trying again on the next tick.
 */
export class IntervalDuty {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<void> | undefined;

  constructor(
    private readonly everyMs: number,
    private readonly work: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
    private readonly runAtStart = false,
  ) {}

  start(): void {
    if (this.runAtStart) this.run();
    this.timer = setInterval(() => this.run(), this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }

  private run(): void {
    if (this.busy) return;
    this.busy = this.work()
      .then(() => undefined)
      .catch(this.onError)
      .finally(() => (this.busy = undefined));
  }
}
