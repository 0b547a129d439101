import { make07, type Item07 } from "lib07";
import { make09, type Item09 } from "lib09";
import { make18, type Item18 } from "lib18";
import { describe, type Tagged } from "./util.js";

/** One value of library 19; it embeds values of the libraries it depends on. */
export interface Item19 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item07 | Item09 | Item18)[];
}

export function make19(n: number): Item19 {
  return { id: n * 20, tag: describe(n), parts: [make07(n + 0), make09(n + 1), make18(n + 2)] };
}

export const NAME19 = "lib19";
