import type { DriverDescriptor } from "./driver.js";
import { DriverNotFoundError } from "./errors.js";

/** The drivers tsm knows, registered explicitly by the composition root. */
export class DriverRegistry {
  readonly #drivers = new Map<string, DriverDescriptor>();

  /** Throws on a duplicate name: two drivers answering to one `-d` would be a bug. */
  register(descriptor: DriverDescriptor): this {
    if (this.#drivers.has(descriptor.name)) {
      throw new Error(`driver "${descriptor.name}" is registered twice`);
    }
    this.#drivers.set(descriptor.name, descriptor);
    return this;
  }

  /** Throws DriverNotFoundError (exit 2) listing the known drivers. */
  get(name: string): DriverDescriptor {
    const d = this.#drivers.get(name);
    if (!d) throw new DriverNotFoundError(name, this.names());
    return d;
  }

  has(name: string): boolean {
    return this.#drivers.has(name);
  }

  /** In registration order, which is also the preference order for `create` without `-d`. */
  list(): DriverDescriptor[] {
    return [...this.#drivers.values()];
  }

  names(): string[] {
    return [...this.#drivers.keys()].sort();
  }
}
