export declare class Widget {
  constructor(name: string);
  readonly name: string;
  equals(other: unknown): boolean;
}
