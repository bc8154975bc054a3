// Package scenarios is the scenario language (one command per line, times
// in virtual units, expectations) with its parser, and the built-in library
// of scenarios, one per failure mode raftsim exists to catch.
//
// Parse errors name file:line:column and what was expected; nothing here
// panics on input it can reject.
package scenarios
