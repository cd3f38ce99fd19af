/** How long runs report progress: a callback interface, drawn by whoever runs them (a terminal bar, a page). */

export interface Progress {
  /** Reports how much of the total is done. */
  update(done: number): void;
  stop(): void;
}

/** Makes a progress reporter for a run of `total` steps. */
export type ProgressFactory = (label: string, total: number) => Progress;

/** Reports nothing. */
export const noProgress: ProgressFactory = () => ({ update() {}, stop() {} });
