/** Computes the learner's report (what `npm start` prints) off the main thread: it takes a few seconds. */
import { demoReport, formatDemoReport, type DemoReport } from '../../src/learner/index.js';

export interface ReportMessage {
  readonly report: DemoReport;
  readonly text: string;
  readonly ms: number;
}

self.addEventListener('message', (e: MessageEvent<{ seed: number }>) => {
  const t0 = performance.now();
  const report = demoReport({ seed: e.data.seed });
  const message: ReportMessage = { report, text: formatDemoReport(report), ms: performance.now() - t0 };
  postMessage(message);
});
