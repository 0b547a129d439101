import { make07, type Item07 } from "lib07";
import { make10, type Item10 } from "lib10";
import { make19, type Item19 } from "lib19";
import { describe, type Tagged } from "./util.js";

/** One value of library 20; it embeds values of the libraries it depends on. */
export interface Item20 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item10 | Item19)[];
}

export function make20(n: number): Item20 {
  return { id: n * 21, tag: describe(n), parts: [make07(n + 0), make10(n + 1), make19(n + 2)] };
}

export const NAME20 = "lib20";
