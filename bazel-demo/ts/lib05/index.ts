import { make02, type Item02 } from "lib02";
import { make03, type Item03 } from "lib03";
import { make04, type Item04 } from "lib04";
import { describe, type Tagged } from "./util.js";

/** One value of library 05; it embeds values of the libraries it depends on. */
export interface Item05 extends Tagged {
  readonly id: number;
  readonly parts: readonly (Item02 | Item03 | Item04)[];
}

export function make05(n: number): Item05 {
  return { id: n * 6, tag: describe(n), parts: [make02(n + 0), make03(n + 1), make04(n + 2)] };
}

export const NAME05 = "lib05";
