import { make07, type Item07 } from "lib07";
import { make08, type Item08 } from "lib08";
import { make16, type Item16 } from "lib16";
import { describe, type Tagged } from "./util.js";

/** One value of library 17; it embeds values of the libraries it depends on. */
export interface Item17 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item08 | Item16)[];
}

export function make17(n: number): Item17 {
  return { id: n * 18, tag: describe(n), parts: [make07(n + 0), make08(n + 1), make16(n + 2)] };
}

export const NAME17 = "lib17";
