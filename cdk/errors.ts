// The construct's own error: a property it cannot deploy, named with the reason.

/** A property of {@link LongRequestKit} that cannot be deployed as given (thrown at synth time, before any deploy). */
export class KitPropsError extends Error {
  /** The property at fault, e.g. `transferMode`. */
  readonly property: string;

  /**
   * @param property - the property at fault
   * @param problem - what is wrong with it and what to do instead
   */
  constructor(property: string, problem: string) {
    super(`LongRequestKit: ${property} ${problem}`);
    this.name = 'KitPropsError';
    this.property = property;
  }
}
