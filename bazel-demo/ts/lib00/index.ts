import { describe, type Tagged } from "./util.js";

/** One value of library 00; it embeds values of the libraries it depends on. */
export interface Item00 extends Tagged {
  readonly id: number;
  readonly parts: readonly (never)[];
}

export function make00(n: number): Item00 {
  return { id: n * 1, tag: describe(n), parts: [] };
}

export const NAME00 = "lib00";
