import { make01, type Item01 } from "lib01";
import { describe, type Tagged } from "./util.js";

/** One value of library 02; it embeds values of the libraries it depends on. */
export interface Item02 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item01)[];
}

export function make02(n: number): Item02 {
  return { id: n * 3, tag: describe(n), parts: [make01(n + 0)] };
}

export const NAME02 = "lib02";
