/** One named step of a pipeline: it returns a final outcome, or nothing to go on to the next step. */
export interface Step<State, Outcome> {
  name: string;
  run(state: State): Promise<Outcome | undefined> | Outcome | undefined;
}

/**
 * Runs steps in order until one returns an outcome. Before every step `between` may end the run
 * (the deadline check); the last step must return an outcome.
 */
export async function runSteps<State, Outcome>(
  steps: readonly Step<State, Outcome>[],
  state: State,
  between: (state: State, nextStep: string) => Outcome | undefined,
): Promise<Outcome> {
  for (const step of steps) {
    const stopped = between(state, step.name);
    if (stopped !== undefined) return stopped;
    const outcome = await step.run(state);
    if (outcome !== undefined) return outcome;
  }
  throw new Error(`the pipeline ended without an outcome after ${steps.map((step) => step.name).join(', ')}`);
}
