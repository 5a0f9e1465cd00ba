'use strict';

class Widget {
  constructor(name) {
    this.name = name;
  }

  equals(other) {
    return other instanceof Widget && other.name === this.name;
  }
}

module.exports = { Widget };
