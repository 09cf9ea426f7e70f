import type { Response } from 'express';

/** Aborts when the client hangs up before the answer is complete (logged as 499; the job still finishes). */
export function clientSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) controller.abort();
  });
  return controller.signal;
}
