// Package faults is the nemesis: each fault is a value with a target, a
// start and an end (kill -9 and restart, pause, partitions, link faults,
// clock faults, disk faults, quiet periods), applied through the simulator,
// and a generator that draws a whole swarm-style schedule from a seed.
//
// It never reads the wall clock or draws from anything but the World's
// named random streams: targets left open are drawn at a fault's start
// from the "faults" stream; Generate draws from the stream it is handed.
// It never panics on a schedule it can reject: Install validates first
// and names the fault at fault.
//
// # Kinds
//
// Faults act on servers (nodes 1..Servers) only; clients are never killed,
// paused or partitioned, and keep their links, except that isolate cuts a
// server off from everyone, clients included.
//
//	kill              kill -9 at At (page cache lost), restart at Until
//	torn-kill         kill -9 keeping a seeded prefix of the page cache, the
//	                  last write possibly torn; restart at Until
//	pause             freeze at At, thaw at Until
//	isolate           cut each node from every other node, both ways
//	isolate-leader    isolate the node leading at At (skipped if none)
//	partition         cut every pair of nodes in different groups, both ways
//	majority-minority two groups; drawn at start, the minority is the
//	                  largest one, (n-1)/2 servers, and holds the leader
//	even-split        two halves (an even number of servers only)
//	bridge            side | bridge | side: the sides cannot talk to each
//	                  other, the one bridge node talks to both
//	one-way           cut from -> to only (drawn: one server goes deaf or mute)
//	loss duplicate reorder
//	                  raise that probability on every link into and out of
//	                  the nodes (clients' links too)
//	delay             add Delay to both latency bounds of those links
//	clock-skew        jump the node's clock by Delay at At, back at Until
//	clock-drift       run the clock PPM fast (negative: slow), At to Until
//	clock-jump        jump the clock by Delay at At, for good (instantaneous)
//	truncate          kill at At, cut Bytes of synced data off the end of the
//	                  newest non-empty WAL segment, restart at Until
//	bitflip           kill at At, flip one bit of the durable WAL, restart
//	                  at Until (a node that finds its WAL corrupt refuses
//	                  to start and stays down)
//	truncate-mark     kill at At, cut Bytes of synced data off the end of the
//	                  node's high-water mark file (hwm.log), restart at Until
//	bitflip-mark      kill at At, flip one bit of the durable high-water mark
//	                  file (Offset counted back from its end), restart at
//	                  Until
//	truncate-snapshot kill at At, cut Bytes off the end of the node's newest
//	bitflip-snapshot  snapshot file (or flip one bit of it), restart at Until:
//	                  the node must notice and recover from the leader
//	wipe              kill at At, replace the node's disk with an empty one,
//	                  restart at Until: it must not come back as a voter
//	slow-fsync        every fsync takes Delay, At to Until
//	full-disk         capacity = bytes on disk at At + Bytes, At to Until
//	fail-fsync        every fsync fails, At to Until (a server fail-stops)
//	quiet             client load off at At, on at Until
//	transfer          not a failure: ask the leader at At to hand leadership
//	                  to the node (leader: to its most up-to-date follower;
//	                  instantaneous; skipped if there is no leader). Never
//	                  drawn unless named; the runner's swarm adds its own
//	add-learner       membership changes, asked of the Target at At (a
//	promote add       MembershipTarget; instantaneous): make the node a
//	remove change     learner, promote a learner to voter, add it as a
//	                  voter (a learner first), remove it (or the leader),
//	                  or add and remove voters at once (+n4,+n5,-n1)
//
// Every start and end is recorded with World.Fault as "fault I begin: LINE"
// and "fault I end: LINE", LINE being the fault with its targets as
// resolved; what a fault could not do (no leader, node already down, a
// node that refused to restart) is a World.Note.
//
// # How faults compose
//
// A fault holds over [At, Until): at one instant, the faults ending are
// undone before the faults starting begin (and resolve their targets).
// Every effect is held by the active faults that asked for it, counted,
// and undone when the last holder ends; so overlapping faults compose
// whatever their order, and no end ever undoes what another active fault
// still wants.
//
//   - Down: a server stays down while any kill-shaped fault (kill,
//     torn-kill, truncate, bitflip) on it is active. A kill of a node that
//     is already down only takes a hold. When the last hold ends, and also
//     when a full-disk or fail-fsync fault on it ends, the node is
//     restarted if it is down (for whatever reason: a server that
//     fail-stopped on a disk error is restarted, as an operator would) and
//     left alone if it is up. A restart that fails (corrupt WAL) leaves
//     the node down, with a note.
//   - Pause: paused while any pause holds it. The nemesis resumes only a
//     node it paused itself. A kill ends the pause; a node restarted while
//     a pause still holds it is paused again.
//   - Cuts: a directed link is cut while any network fault holds it. The
//     first holder records whether the link was connected; the last
//     reconnects it only if it was, so a cut made outside the nemesis
//     (by a test or scenario) survives the faults that overlapped it.
//     Partitions only cut across groups: they never connect a link inside
//     a group that another fault (or anyone) cut.
//   - Link configurations: the first link fault on a link saves its
//     LinkConfig; while faults hold it, the link runs that base modified by
//     each holder in start order (probabilities combine as independent
//     events, 1-(1-a)(1-b); delays add); the last holder restores the base.
//     A SetLink made by someone else while the nemesis holds the link is
//     overwritten at the next change.
//   - Clocks: skews and jumps are relative, so they add; each skew jumps
//     back by its own offset at its end. Drift is the sum of the active
//     drifts (clamped inside sim.MaxDriftPPM); the nemesis assumes no one
//     else sets drift.
//   - Disks: fsync latency is the largest active slow-fsync's, capacity the
//     smallest active full-disk's, and fsyncs fail while any fail-fsync is
//     active; with none active the hook is off.
//   - Quiet: load is off while any quiet is active. Its end turns load on
//     (the nemesis assumes load was on: start it before the faults).
//
// At HealAt (or End, if HealAt is zero) every active fault ends as above,
// in reverse start order, and then the world is healed outright whatever
// the cause: every down server restarted, every paused one resumed, the
// whole network connected (Network.Heal, so cuts made outside the
// nemesis too), saved link configurations restored, drift zero on every
// server, every disk hook off, load on. Clock-jumps are events, not
// states, and are not undone. Faults are validated to end by then.
//
// # Scenario-language lines
//
// Fault.String renders one fault as one line, and ParseFault reads it
// back (ParseWords is what the scenario parser calls, with the words of
// its line); the two sit side by side in line.go. String is lossless for
// every valid Fault:
//
//	line     = "at" SP time SP kind [SP param] [SP targets] [SP end]
//	end      = "until" SP time | "for" SP dur        ; String writes until
//	time     = a time.Duration.String() value, >= 0: "0s", "1.5s", "2m3s"
//	targets  = "leader" | nodes | groups | nodes SP "->" SP nodes | change
//	nodes    = node *("," node)                      ; "n1,n2,n5", no spaces
//	node     = "n" int | "leader" | "leader+" int | "follower" | "not-leader"
//	groups   = nodes 1*(SP "|" SP nodes)             ; "n1,n2 | n3,n4,n5"
//	change   = sign "n" int *("," sign "n" int)      ; "+n4,+n5,-n1" (sign: + adds, - removes)
//	param    = prob | dur | sdur | ppm | bytes | flip
//	prob     = strconv.FormatFloat(p, 'g', -1, 64)   ; "0.2"
//	dur      = time.Duration.String(), >= 0          ; "50ms"
//	sdur     = ("+" | "-") dur                       ; "+1.5s", "-200ms"
//	ppm      = ("+" | "-") int "ppm"                 ; "+500ppm"
//	bytes    = int "B"                               ; "4096B"
//	flip     = "@" offset ":" bit                    ; "@123456:3"
//
// Which param, targets and end each kind takes (optional: without an end
// the node restarts at once; never: the kind is instantaneous):
//
//	kill torn-kill wipe               [nodes | leader]            optional
//	truncate truncate-mark            bytes [nodes | leader]      optional
//	truncate-snapshot                 bytes [nodes | leader]      optional
//	bitflip bitflip-mark              flip [nodes | leader]       optional
//	bitflip-snapshot                  flip [nodes | leader]       optional
//	pause fail-fsync                  [nodes | leader]            required
//	full-disk                         bytes [nodes | leader]      required
//	isolate                           [nodes]                     required
//	isolate-leader quiet              (none)                      required
//	partition                         groups (2 or more)          required
//	majority-minority even-split      [groups] (2: majority | minority; 2 halves)
//	bridge                            [groups] (3: side | bridge node | side)
//	one-way                           [nodes -> nodes]            required
//	loss duplicate reorder            prob [nodes | leader]       required
//	delay slow-fsync                  dur [nodes | leader]        required
//	clock-skew                        sdur [nodes | leader]       required
//	clock-drift                       ppm [nodes | leader]        required
//	clock-jump                        sdur [nodes | leader]       never
//	add-learner promote add           node                        never
//	remove                            node | leader               never
//	change                            change                      never
//	transfer                          [node | leader]             never
//
// (majority-minority, even-split and bridge require an end too.) Omitted
// targets are drawn at start (see Fault.Nodes and Fault.Groups).
// Examples (Kind.Example has one for every kind):
//
//	at 2s partition n1,n2 | n3,n4,n5 until 5s
//	at 1.5s kill n3 until 3s
//	at 4s isolate-leader until 6s
//	at 2s loss 0.2 n1,n2 until 4s
//	at 3s clock-drift +500ppm n2 until 9s
//	at 7s clock-jump -2s n4
//	at 1s one-way n1 -> n2,n3 until 2s
//	at 5s bitflip @8812:3 n4 until 6s
//	at 3s change +n4,+n5,-n1
//
// # Adding a kind
//
// Everything about a kind is one entry of the kinds table (kind.go): how
// a line writes it (its target shape, its parameter, whether it has an
// end), what it may target (the leader, cluster sizes, group shapes), the
// flags the generator reads, an example line, the family a report colours
// it by, and its behaviour as function values: apply and undo (nemesis.go;
// an undo releases exactly the holds its apply took), how a link kind
// changes a link, how a group kind draws its groups at start, how the
// swarm draws its intensity and a generated fault its targets and
// parameter (generate.go). String, ParseWords (and so the scenario
// parser), Validate, the nemesis, Generate, Summary and the report's
// colours all read the table; none lists kinds. So a kind is its
// constant, its entry, and its lines in this doc and in docs/SCENARIOS.md.
// TestEveryKind runs each entry's example (it must print back to itself,
// validate, begin, do its job, end and leave the world healthy),
// TestGenerateDrawsEveryKind draws each, and TestKindsAreDocumented holds
// both docs to the table. A membership kind also needs its meaning in the
// harness's MembershipTarget (scenarios/runner). A new parameter is a row
// of params, a new target shape a target class, each printed and parsed
// side by side in line.go.
package faults
