package faults

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed4fee1fef/raftsim/sim"
)

// A fault as one line of the scenario language (grammar in the package
// doc): Fault.String prints it, ParseFault and ParseWords read it back,
// each part printed and parsed side by side below. What a kind writes
// (its parameter, targets and end) comes from the kinds table.

// param is the one parameter a kind takes.
type param uint8

const (
	paramNone   param = iota
	paramProb         // Prob: 0.2
	paramDelay        // Delay >= 0: 50ms
	paramSigned       // Delay of either sign: +1.5s, -200ms
	paramPPM          // PPM: +500ppm
	paramBytes        // Bytes >= 0: 4096B
	paramFlip         // Offset and Bit: @1234:5
)

// paramSpec is how a parameter is written, read and bounded.
type paramSpec struct {
	want   string // what a line must write, for errors
	format func(f Fault) string
	// parse sets the parameter of f (whose Kind is set) from w.
	parse func(w Word, f *Fault) error
	check func(f Fault) string // its range, or "" (nil: any value)
	// knob describes the largest value a swarm draws (Knobs.String).
	knob func(kn Knobs) string
}

var params = [...]paramSpec{
	paramNone: {
		format: func(Fault) string { return "" },
		knob:   func(Knobs) string { return "" },
	},
	paramProb: {
		want:   "a probability like 0.2",
		format: func(f Fault) string { return strconv.FormatFloat(f.Prob, 'g', -1, 64) },
		parse: func(w Word, f *Fault) (err error) {
			f.Prob, err = ParseProbability(w)
			return err
		},
		check: func(f Fault) string {
			if math.IsNaN(f.Prob) || f.Prob < 0 || f.Prob > 1 {
				return fmt.Sprintf("probability %v outside [0, 1]", f.Prob)
			}
			return ""
		},
		knob: func(kn Knobs) string { return ", prob up to " + strconv.FormatFloat(kn.MaxProb, 'g', -1, 64) },
	},
	paramDelay: {
		want:   "a duration like 50ms",
		format: func(f Fault) string { return f.Delay.String() },
		parse: func(w Word, f *Fault) (err error) {
			f.Delay, err = ParseDuration(w, false)
			return err
		},
		check: func(f Fault) string {
			if f.Delay < 0 {
				return fmt.Sprintf("duration %v is negative", f.Delay)
			}
			return ""
		},
		knob: func(kn Knobs) string { return fmt.Sprintf(", up to %v", kn.MaxDelay) },
	},
	paramSigned: {
		want: "a signed duration like +1.5s or -200ms",
		// Always signed, so "+1s" and "-1s" read as offsets;
		// time.ParseDuration accepts both.
		format: func(f Fault) string {
			if f.Delay < 0 {
				return f.Delay.String()
			}
			return "+" + f.Delay.String()
		},
		parse: func(w Word, f *Fault) (err error) {
			if f.Delay, err = time.ParseDuration(w.Text); err != nil {
				return errBadParam
			}
			if f.Delay > MaxDuration || f.Delay < -MaxDuration {
				return syntaxErr(w.Col, "duration %v beyond the limit of ±%v", f.Delay, MaxDuration)
			}
			return nil
		},
		knob: func(kn Knobs) string { return fmt.Sprintf(", up to %v", kn.MaxDelay) },
	},
	paramPPM: {
		want:   "a drift like +500ppm",
		format: func(f Fault) string { return fmt.Sprintf("%+dppm", f.PPM) },
		parse: func(w Word, f *Fault) (err error) {
			num, ok := strings.CutSuffix(w.Text, "ppm")
			if !ok {
				return errBadParam
			}
			if f.PPM, err = strconv.ParseInt(num, 10, 64); err != nil {
				return errBadParam
			}
			return nil
		},
		check: func(f Fault) string {
			if f.PPM <= -sim.MaxDriftPPM || f.PPM >= sim.MaxDriftPPM {
				return fmt.Sprintf("drift %dppm outside (-%d, %d)", f.PPM, sim.MaxDriftPPM, sim.MaxDriftPPM)
			}
			return ""
		},
		knob: func(kn Knobs) string { return fmt.Sprintf(", up to %dppm", kn.MaxPPM) },
	},
	paramBytes: {
		want:   "a byte count like 4096B",
		format: func(f Fault) string { return strconv.FormatInt(f.Bytes, 10) + "B" },
		parse: func(w Word, f *Fault) (err error) {
			num, ok := strings.CutSuffix(w.Text, "B")
			if !ok {
				return errBadParam
			}
			if f.Bytes, err = strconv.ParseInt(num, 10, 64); err != nil || strings.HasPrefix(num, "+") {
				return errBadParam
			}
			if f.Bytes < 0 {
				return syntaxErr(w.Col, "byte count %d is negative", f.Bytes)
			}
			return nil
		},
		check: func(f Fault) string {
			if f.Bytes < 0 {
				return fmt.Sprintf("byte count %d is negative", f.Bytes)
			}
			return ""
		},
		knob: func(kn Knobs) string { return fmt.Sprintf(", up to %dB", kn.MaxBytes) },
	},
	paramFlip: {
		want:   "a bit like @8812:3 (byte offset:bit)",
		format: func(f Fault) string { return fmt.Sprintf("@%d:%d", f.Offset, f.Bit) },
		parse: func(w Word, f *Fault) (err error) {
			rest, ok := strings.CutPrefix(w.Text, "@")
			off, bit, ok2 := strings.Cut(rest, ":")
			if !ok || !ok2 {
				return errBadParam
			}
			if f.Offset, err = strconv.ParseInt(off, 10, 64); err != nil || f.Offset < 0 || strings.HasPrefix(off, "+") {
				return errBadParam
			}
			b, err := strconv.Atoi(bit)
			if err != nil || b < 0 || b > 7 || strings.HasPrefix(bit, "+") {
				return syntaxErr(w.Col, "bad bit %s in %s; expected 0..7", Quote(bit), Quote(w.Text))
			}
			f.Bit = uint8(b)
			return nil
		},
		check: func(f Fault) string {
			if f.Offset < 0 {
				return fmt.Sprintf("offset %d is negative", f.Offset)
			}
			if f.Bit > 7 {
				return fmt.Sprintf("bit %d outside 0..7", f.Bit)
			}
			return ""
		},
		knob: func(Knobs) string { return "" },
	},
}

// errBadParam says a word is no value of the parameter at all:
// ParseWords says what the kind takes instead.
var errBadParam = errors.New("bad parameter")

// String renders f as one line of the scenario language (grammar in the
// package doc), e.g. "at 2s partition n1,n2 | n3,n4,n5 until 5s".
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString("at ")
	b.WriteString(f.At.String())
	b.WriteByte(' ')
	b.WriteString(string(f.Kind))
	s := spec(f.Kind)
	if s == nil {
		s = &kindSpec{} // an unknown kind prints every target it has
	}
	if p := params[s.param].format(f); p != "" {
		b.WriteByte(' ')
		b.WriteString(p)
	}
	switch {
	case f.Leader:
		b.WriteString(" leader")
	case len(f.Nodes) > 0:
		b.WriteByte(' ')
		b.WriteString(nodeList(f.Nodes))
	}
	if s.target == targetChange && len(f.Groups) == 2 {
		var parts []string
		for _, id := range f.Groups[0] {
			parts = append(parts, "+n"+strconv.Itoa(id))
		}
		for _, id := range f.Groups[1] {
			parts = append(parts, "-n"+strconv.Itoa(id))
		}
		b.WriteByte(' ')
		b.WriteString(strings.Join(parts, ","))
	} else if len(f.Groups) > 0 {
		sep := " | "
		if s.target == targetOneWay {
			sep = " -> "
		}
		parts := make([]string, len(f.Groups))
		for i, g := range f.Groups {
			parts[i] = nodeList(g)
		}
		b.WriteByte(' ')
		b.WriteString(strings.Join(parts, sep))
	}
	if f.Until != f.At {
		b.WriteString(" until ")
		b.WriteString(f.Until.String())
	}
	return b.String()
}

// nodeList renders ids as "n1,n2,n3" (or "leader,leader+1") in the given order.
func nodeList(ids []int) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(RefName(id))
	}
	return b.String()
}

// Word is one word of a line, as the scenario parser splits it: its text
// and its 1-based byte column.
type Word struct {
	Text string
	Col  int
}

// SyntaxError is what is wrong at one column of a line, naming what was
// expected there. The scenario parser adds its file and line.
type SyntaxError struct {
	Col int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

func syntaxErr(col int, format string, args ...any) error {
	return &SyntaxError{Col: col, Msg: fmt.Sprintf(format, args...)}
}

// Where says where a line wrote each part of the fault it was parsed
// into, for the checks that need the server count (Where.Validate).
type Where struct {
	Kind int // the kind's column
	// Until is the column of the time after "until" or "for" (0: the
	// line has neither), For the duration after "for" (0: not written so).
	Until int
	For   time.Duration
	Nodes []NodeWord // every server and reference the targets name
}

// NodeWord is one server id or leader-relative reference a line names,
// and its column.
type NodeWord struct {
	ID, Col int
}

// MaxDuration bounds every time and duration a line may write, so sums
// of them cannot overflow.
const MaxDuration = 1000 * time.Hour

// Quote renders a word of a line in an error message: quoted, and cut to
// 40 bytes (at a rune boundary) with its length, so a bad word of 5000
// bytes reads "xxxx…" (5000 bytes).
func Quote(s string) string {
	const limit = 40
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s (%d bytes)", strconv.Quote(s[:cut]+"…"), len(s))
}

// ParseDuration reads a time or duration, never negative (above zero if
// positive), at most MaxDuration.
func ParseDuration(w Word, positive bool) (time.Duration, error) {
	d, err := time.ParseDuration(w.Text)
	if err != nil {
		return 0, syntaxErr(w.Col, "bad duration %s; expected a duration like 500ms, 2s or 1m30s", Quote(w.Text))
	}
	switch {
	case d < 0:
		return 0, syntaxErr(w.Col, "duration %v is negative", d)
	case d > MaxDuration:
		return 0, syntaxErr(w.Col, "duration %v above the limit of %v", d, MaxDuration)
	case positive && d == 0:
		return 0, syntaxErr(w.Col, "duration %v must be above 0", d)
	}
	return d, nil
}

// ParseProbability reads a probability in [0, 1].
func ParseProbability(w Word) (float64, error) {
	f, err := strconv.ParseFloat(w.Text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, syntaxErr(w.Col, "bad probability %s; expected a number in [0, 1] like 0.2", Quote(w.Text))
	}
	switch {
	case f < 0:
		return 0, syntaxErr(w.Col, "probability %s below 0", w.Text)
	case f > 1:
		return 0, syntaxErr(w.Col, "probability %s above 1", w.Text)
	}
	return f, nil
}

// ParseFault reads one line as Fault.String writes it: "at TIME KIND
// [PARAM] [TARGETS] [until TIME | for DURATION]". It checks the grammar
// only; Validate checks the fault against a cluster.
func ParseFault(line string) (Fault, error) {
	words := splitWords(line)
	if len(words) == 0 || words[0].Text != "at" {
		col := 1
		if len(words) > 0 {
			col = words[0].Col
		}
		return Fault{}, syntaxErr(col, `expected "at TIME KIND ..."`)
	}
	lp := lineParser{words}
	w, err := lp.word(1, "a time after at")
	if err != nil {
		return Fault{}, err
	}
	at, err := ParseDuration(w, false)
	if err != nil {
		return Fault{}, err
	}
	f, _, err := ParseWords(words, 2, at)
	return f, err
}

// splitWords splits a line at spaces and tabs.
func splitWords(line string) []Word {
	var out []Word
	for i := 0; i < len(line); {
		if line[i] == ' ' || line[i] == '\t' {
			i++
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		out = append(out, Word{Text: line[i:j], Col: i + 1})
		i = j
	}
	return out
}

// ParseWords reads "KIND [PARAM] [TARGETS] [until TIME | for DURATION]"
// from words[i] on (the words before it, and after the last, are the
// caller's) for a fault starting at at, and says where each part was.
// Errors are *SyntaxError. It checks the grammar and what it can without
// the server count; Where.Validate checks the rest.
func ParseWords(words []Word, i int, at time.Duration) (Fault, Where, error) {
	lp := lineParser{words}
	f := Fault{At: at}
	kt, err := lp.word(i, "a fault kind ("+kindList()+")")
	if err != nil {
		return f, Where{}, err
	}
	kind, ok := ParseKind(kt.Text)
	if !ok {
		return f, Where{}, syntaxErr(kt.Col, "unknown fault kind %s; expected one of %s", Quote(kt.Text), kindList())
	}
	f.Kind = kind
	s := spec(kind)
	where := Where{Kind: kt.Col}
	i++
	if s.param != paramNone {
		w, err := lp.word(i, fmt.Sprintf("%s after %s", params[s.param].want, kind))
		if err != nil {
			return f, where, err
		}
		if err := params[s.param].parse(w, &f); err != nil {
			if err == errBadParam {
				err = syntaxErr(w.Col, "bad parameter %s; %s takes %s", Quote(w.Text), kind, params[s.param].want)
			}
			return f, where, err
		}
		i++
	}
	if i, err = lp.targets(&f, &where, s.target, i); err != nil {
		return f, where, err
	}
	f.Until = f.At
	switch {
	case i < len(words) && (words[i].Text == "until" || words[i].Text == "for"):
		ut := words[i]
		if s.until == untilForbidden {
			return f, where, syntaxErr(ut.Col, "%s is instantaneous; expected end of line, not %s", kind, ut.Text)
		}
		w, err := lp.word(i+1, "a time after "+ut.Text)
		if err != nil {
			return f, where, err
		}
		d, err := ParseDuration(w, ut.Text == "for")
		if err != nil {
			return f, where, err
		}
		if ut.Text == "for" {
			f.Until, where.For = f.At+d, d
		} else {
			f.Until = d
		}
		if f.Until < f.At {
			return f, where, syntaxErr(w.Col, "until %v is before at %v", f.Until, f.At)
		}
		if f.Until == f.At {
			return f, where, syntaxErr(w.Col, "until %v must be after at %v", f.Until, f.At)
		}
		where.Until = w.Col
		if i+2 < len(words) {
			return f, where, syntaxErr(words[i+2].Col, "unexpected %s; expected end of line", Quote(words[i+2].Text))
		}
	case i < len(words):
		want := `"until TIME", "for DURATION" or end of line`
		if s.until == untilForbidden {
			want = "end of line"
		}
		return f, where, syntaxErr(words[i].Col, "unexpected %s; expected %s", Quote(words[i].Text), want)
	case s.until == untilRequired:
		return f, where, syntaxErr(lp.end()+1, `%s holds from its start to its end; expected "until TIME" or "for DURATION"`, kind)
	}
	return f, where, nil
}

func kindList() string {
	names := make([]string, len(kinds))
	for i := range kinds {
		names[i] = string(kinds[i].kind)
	}
	return strings.Join(names, ", ")
}

type lineParser struct{ words []Word }

// word returns word i, or says what was expected there.
func (lp lineParser) word(i int, expected string) (Word, error) {
	if i < len(lp.words) {
		return lp.words[i], nil
	}
	return Word{}, syntaxErr(lp.end()+1, "expected %s", expected)
}

// end is the column just past the last word (a missing word is reported
// one column further, where it would start).
func (lp lineParser) end() int {
	if len(lp.words) == 0 {
		return 0
	}
	w := lp.words[len(lp.words)-1]
	return w.Col + len(w.Text)
}

// targets reads the targets from word i on, up to "until", "for" or the
// end, and returns the index after them.
func (lp lineParser) targets(f *Fault, where *Where, tc target, i int) (int, error) {
	words := lp.words
	if i >= len(words) || words[i].Text == "until" || words[i].Text == "for" {
		return i, nil
	}
	t := words[i]
	if t.Text == "leader" && tc == targetNodes {
		f.Leader = true // a lone leader, as Fault writes it
		return i + 1, nil
	}
	switch tc {
	case targetNone:
		return 0, syntaxErr(t.Col, "unexpected %s; %s takes no targets; expected \"until TIME\" or \"for DURATION\"", Quote(t.Text), f.Kind)
	case targetChange:
		adds, removes, err := parseChange(t, where)
		if err != nil {
			return 0, err
		}
		f.Groups = [][]int{adds, removes}
		return i + 1, nil
	}
	var groups [][]int
	sep := ""
	for {
		ids, at, err := ParseNodes(words[i])
		if err != nil {
			return 0, err
		}
		where.Nodes = append(where.Nodes, at...)
		groups = append(groups, ids)
		i++
		if i >= len(words) || (words[i].Text != "|" && words[i].Text != "->") {
			break
		}
		s := words[i]
		switch {
		case tc == targetNodes:
			return 0, syntaxErr(s.Col, "unexpected %s; %s takes one node list like n1,n2", Quote(s.Text), f.Kind)
		case tc == targetGroups && s.Text != "|":
			return 0, syntaxErr(s.Col, "unexpected %s; expected \"|\" between groups", Quote(s.Text))
		case tc == targetOneWay && (s.Text != "->" || sep != ""):
			return 0, syntaxErr(s.Col, "unexpected %s; one-way takes FROM -> TO, like n1 -> n2,n3", Quote(s.Text))
		}
		sep = s.Text
		i++
		if i >= len(words) {
			return 0, syntaxErr(lp.end()+1, "expected nodes like n1,n2 after %s", Quote(sep))
		}
	}
	switch tc {
	case targetNodes:
		f.Nodes = groups[0]
	case targetOneWay:
		if len(groups) != 2 {
			return 0, syntaxErr(t.Col, "one-way takes FROM -> TO, like n1 -> n2,n3")
		}
		f.Groups = groups
	default:
		f.Groups = groups
	}
	return i, nil
}

// parseChange reads a change's servers: "+n4,+n5,-n1" adds n4 and n5
// and removes n1.
func parseChange(t Word, where *Where) (adds, removes []int, err error) {
	col := t.Col
	for _, part := range strings.Split(t.Text, ",") {
		sign := byte(0)
		if part != "" {
			sign = part[0]
		}
		if sign != '+' && sign != '-' {
			return nil, nil, syntaxErr(col, "bad change %s in %s; expected servers to add and remove, like +n4,+n5,-n1", Quote(part), Quote(t.Text))
		}
		ids, at, err := ParseNodes(Word{Text: part[1:], Col: col + 1})
		if err != nil {
			return nil, nil, err
		}
		if len(ids) != 1 || IsRef(ids[0]) {
			return nil, nil, syntaxErr(col, "bad change %s; expected a server like %cn4", Quote(part), sign)
		}
		where.Nodes = append(where.Nodes, at...)
		if sign == '+' {
			adds = append(adds, ids[0])
		} else {
			removes = append(removes, ids[0])
		}
		col += len(part) + 1
	}
	return adds, removes, nil
}

// ParseNodes reads a node list, "n1,n2,n5", or leader-relative targets
// such as "leader,leader+1" (see RefLeader), with each one's column.
// Ids are not checked against a server count (CheckNodes does).
func ParseNodes(w Word) (ids []int, at []NodeWord, err error) {
	col := w.Col
	for _, part := range strings.Split(w.Text, ",") {
		if ref, ok := ParseRef(part); ok {
			ids = append(ids, ref)
			at = append(at, NodeWord{ID: ref, Col: col})
			col += len(part) + 1
			continue
		}
		num, ok := strings.CutPrefix(part, "n")
		id, err := strconv.Atoi(num)
		if !ok || err != nil || strings.HasPrefix(num, "+") || strings.HasPrefix(num, "-") {
			if part == "" {
				return nil, nil, syntaxErr(col, "expected a node like n3 in %s", Quote(w.Text))
			}
			return nil, nil, syntaxErr(col, "bad node %s; expected nodes like n1,n2 (or leader, leader+1, follower, not-leader)", Quote(part))
		}
		if id < 1 {
			return nil, nil, syntaxErr(col, "unknown node %s (servers are numbered from n1)", part)
		}
		ids = append(ids, id)
		at = append(at, NodeWord{ID: id, Col: col})
		col += len(part) + 1
	}
	return ids, at, nil
}

// CheckNodes checks the servers and references a line named against a
// cluster of servers servers, at the column of the first out of range.
func CheckNodes(nodes []NodeWord, servers int) error {
	for _, r := range nodes {
		if r.ID > servers {
			return syntaxErr(r.Col, "unknown node n%d (servers are n1..n%d)", r.ID, servers)
		}
		if k := refPlus(r.ID); k > 0 && k >= servers {
			return syntaxErr(r.Col, "leader+%d out of range; with %d servers, expected leader+1..leader+%d", k, servers, servers-1)
		}
	}
	return nil
}

// Validate checks f, parsed from a line, against a cluster of servers
// servers (as Fault.Validate does), placing what is wrong at the word it
// is about: a node out of range at the node, anything else at the kind.
func (w Where) Validate(f Fault, servers int) error {
	if err := CheckNodes(w.Nodes, servers); err != nil {
		return err
	}
	if err := f.Validate(servers); err != nil {
		msg := err.Error()
		if ve := (*ValidationError)(nil); errors.As(err, &ve) {
			msg = ve.Reason
		}
		return &SyntaxError{Col: w.Kind, Msg: msg}
	}
	return nil
}
