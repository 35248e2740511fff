// Package doccheck holds the tests that keep the repository's Markdown honest: every Go
// snippet in README.md and docs/ is the body of a compiled function (an Example, or one an
// Example runs) or a whole file it names, every relative link and heading anchor resolves, and
// every Go comment that cites a document cites one in this repository. It has no code of its
// own.
package doccheck
