import { make07, type Item07 } from "lib07";
import { make10, type Item10 } from "lib10";
import { make20, type Item20 } from "lib20";
import { describe, type Tagged } from "./util.js";

/** One value of library 21; it embeds values of the libraries it depends on. */
export interface Item21 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item10 | Item20)[];
}

export function make21(n: number): Item21 {
  return { id: n * 22, tag: describe(n), parts: [make07(n + 0), make10(n + 1), make20(n + 2)] };
}

export const NAME21 = "lib21";
