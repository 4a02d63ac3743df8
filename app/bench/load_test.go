package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotbook/slotbook/app/internal/schedule"
)

// newClient is one customer's HTTP client: its own keep-alive connection.
func newClient() *http.Client {
	return &http.Client{
		Transport: forwardedFor{&http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}},
		Timeout:   30 * time.Second,
	}
}

// forwardedFor gives every request a client address of its own in X-Forwarded-For (the app
// trusts the loopback address as its proxy: SLOTBOOK_TRUSTED_PROXIES), as requests from many
// customers behind an ingress would have. Otherwise the app's per-client rate limits (1
// booking/s per address) would measure themselves; the limiter's work per request still counts.
type forwardedFor struct{ next http.RoundTripper }

var clientAddrs atomic.Uint32

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	n := clientAddrs.Add(1)
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n)))
	return f.next.RoundTrip(r)
}

func (f forwardedFor) CloseIdleConnections() {
	if c, ok := f.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type bookBody struct {
	ServiceID int64        `json:"serviceId"`
	StaffID   *int64       `json:"staffId,omitempty"`
	Start     string       `json:"start"`
	Customer  customerBody `json:"customer"`
}

type customerBody struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// book posts a booking and returns the HTTP status (0 with an error if there was no answer).
func book(ctx context.Context, c *http.Client, baseURL string, body bookBody) (int, error) {
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v1/bookings", bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

// statusCounts counts answers by HTTP status (0: no answer).
type statusCounts map[int]int

func (s statusCounts) String() string {
	codes := make([]int, 0, len(s))
	for c := range s {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var b bytes.Buffer
	for i, c := range codes {
		if i > 0 {
			b.WriteString(", ")
		}
		if c == 0 {
			fmt.Fprintf(&b, "no answer: %d", s[c])
		} else {
			fmt.Fprintf(&b, "%d: %d", c, s[c])
		}
	}
	return b.String()
}

func (s statusCounts) add(o statusCounts) {
	for c, n := range o {
		s[c] += n
	}
}

// ---- throughput ----

type throughputResult struct {
	created   int // 201s
	statuses  statusCounts
	elapsed   time.Duration
	latencies []time.Duration // of the 201s
	firstErr  error
	cpu       cpuSpan
}

func (r throughputResult) tps() float64 { return float64(r.created) / r.elapsed.Seconds() }

// throughputSlot is booking number i of the throughput run: consecutive numbers go to different
// staff members, then to the next half-hour, then to the next day, so that no two bookings ever
// overlap and concurrent ones are for different people (no lock waits).
func (f *fixture) throughputSlot(i int) (staffID int64, start time.Time, ok bool) {
	n := len(f.staffIDs)
	staffID = f.staffIDs[i%n]
	i /= n
	perDay := f.slotsPerDay()
	day := throughputFirstDay + i/perDay
	if day > throughputLastDay {
		return 0, time.Time{}, false
	}
	return staffID, f.at(day, f.open.Start+schedule.Clock(i%perDay*int(serviceDuration/time.Minute))), true
}

// runThroughput books distinct, non-conflicting slots with explicit staff members from clients
// goroutines, each with its own keep-alive connection, for d.
func runThroughput(ctx context.Context, f *fixture, baseURL string, clients int, d time.Duration, meter cpuMeter) throughputResult {
	var next atomic.Int64
	var mu sync.Mutex
	res := throughputResult{statuses: statusCounts{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	before := meter.sample()
	start := time.Now()
	deadline := start.Add(d)
	for c := range clients {
		wg.Go(func() {
			client := newClient()
			defer client.CloseIdleConnections()
			statuses := statusCounts{}
			var lat []time.Duration
			var firstErr error
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				staffID, at, ok := f.throughputSlot(i)
				if !ok {
					break
				}
				t0 := time.Now()
				code, err := book(ctx, client, baseURL, bookBody{
					ServiceID: f.serviceID, StaffID: &staffID, Start: at.Format(time.RFC3339),
					Customer: customerBody{Name: fmt.Sprintf("Client %d", c), Email: fmt.Sprintf("tput-%d@bench.example", i)},
				})
				statuses[code]++
				if code == http.StatusCreated {
					lat = append(lat, time.Since(t0))
				} else if firstErr == nil {
					firstErr = fmt.Errorf("booking %d (staff %d at %s): status %d, %v", i, staffID, at.Format(time.RFC3339), code, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.statuses.add(statuses)
			res.latencies = append(res.latencies, lat...)
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = meter.since(before)
	res.created = res.statuses[http.StatusCreated]
	return res
}

// ---- contention ----

type contentionResult struct {
	rounds    int
	statuses  statusCounts
	badRounds []string // rounds without exactly the expected winners
	latencies []time.Duration
	elapsed   time.Duration
	cpu       cpuSpan
}

// contentionTarget is one of the few slots every round fights over.
type contentionTarget struct {
	staffID int64
	start   time.Time
}

// contentionRound are the 3 targets of round r: staff A at T, staff A at T+15 min (overlapping
// the first: a 30-minute appointment) and staff B at T, so exactly 2 bookings can win. T is on
// the hour, from the opening of the working day until 75 minutes before it closes.
func (f *fixture) contentionRound(r int) ([]contentionTarget, bool) {
	perDay := int(f.open.End-f.open.Start)/60 - 1 // T+45 min must fit in the day
	day := contentionFirstDay + r/perDay
	if day >= contentionFirstDay+contentionDays {
		return nil, false
	}
	t := f.at(day, f.open.Start+schedule.Clock(r%perDay*60))
	a, b := f.staffIDs[0], f.staffIDs[1]
	return []contentionTarget{{a, t}, {a, t.Add(15 * time.Minute)}, {b, t}}, true
}

// contentionWinners is how many bookings each round must create.
const contentionWinners = 2

// runContention runs rounds of clients simultaneous requests (client c asks for target c mod 3)
// for about d: every client waits for the round's start signal, so they really race.
func runContention(ctx context.Context, f *fixture, baseURL string, clients int, d time.Duration, meter cpuMeter) contentionResult {
	res := contentionResult{statuses: statusCounts{}}
	httpClients := make([]*http.Client, clients)
	for i := range httpClients {
		httpClients[i] = newClient()
		defer httpClients[i].CloseIdleConnections()
	}
	codes := make([]int, clients)
	lat := make([]time.Duration, clients)
	before := meter.sample()
	start := time.Now()
	for r := 0; time.Since(start) < d; r++ {
		targets, ok := f.contentionRound(r)
		if !ok {
			break
		}
		startSignal := make(chan struct{})
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				t := targets[c%len(targets)]
				<-startSignal
				t0 := time.Now()
				defer func() { lat[c] = time.Since(t0) }()
				codes[c], _ = book(ctx, httpClients[c], baseURL, bookBody{
					ServiceID: f.serviceID, StaffID: &t.staffID, Start: t.start.Format(time.RFC3339),
					Customer: customerBody{Name: fmt.Sprintf("Client %d", c), Email: fmt.Sprintf("contention-r%d-c%d@bench.example", r, c)},
				})
			})
		}
		close(startSignal)
		wg.Wait()
		won := 0
		round := statusCounts{}
		for _, code := range codes {
			round[code]++
			if code == http.StatusCreated {
				won++
			}
		}
		res.statuses.add(round)
		res.latencies = append(res.latencies, lat...)
		res.rounds++
		if won != contentionWinners || round[http.StatusConflict] != clients-contentionWinners {
			res.badRounds = append(res.badRounds, fmt.Sprintf("round %d: %s", r, round))
		}
	}
	res.elapsed = time.Since(start)
	res.cpu = meter.since(before)
	return res
}

// ---- availability ----

type availabilityResult struct {
	latencies []time.Duration
	slots     int // in the answer
	staffFree int // sum of the slots' staff lists
	bytes     int // size of the answer
	cpu       cpuSpan
}

// availabilityURL asks for the whole window, every staff member (any staff).
func (f *fixture) availabilityURL(baseURL string, days int) string {
	return fmt.Sprintf("%s/api/v1/availability?service=%d&from=%s&to=%s", baseURL, f.serviceID, f.today, f.today.AddDays(days-1))
}

func getOnce(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: status %d: %.300s", url, resp.StatusCode, body)
	}
	return body, nil
}

// runAvailability measures n sequential availability requests for the window after warmup
// unmeasured ones, on one keep-alive connection. The time is until the last byte of the answer.
func runAvailability(ctx context.Context, f *fixture, baseURL string, days, warmup, n int, meter cpuMeter) (availabilityResult, error) {
	var res availabilityResult
	c := newClient()
	defer c.CloseIdleConnections()
	url := f.availabilityURL(baseURL, days)
	body, err := getOnce(ctx, c, url)
	if err != nil {
		return res, err
	}
	var answer struct {
		Slots []struct {
			StaffIDs []int64 `json:"staffIds"`
		} `json:"slots"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return res, fmt.Errorf("availability answer: %w", err)
	}
	res.slots, res.bytes = len(answer.Slots), len(body)
	for _, s := range answer.Slots {
		res.staffFree += len(s.StaffIDs)
	}
	for range warmup {
		if _, err := getOnce(ctx, c, url); err != nil {
			return res, err
		}
	}
	before := meter.sample()
	for range n {
		t0 := time.Now()
		if _, err := getOnce(ctx, c, url); err != nil {
			return res, err
		}
		res.latencies = append(res.latencies, time.Since(t0))
	}
	res.cpu = meter.since(before)
	return res, nil
}

// quantile of durations (nearest rank); sorts ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
