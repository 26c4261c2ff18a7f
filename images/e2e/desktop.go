package e2e

// The desktop check: a headless Chromium logs in through the portal,
// opens the desktop's card (noVNC on 6200, through Caddy), waits until the
// noVNC canvas shows a frame that is a real KDE desktop, and keeps that
// frame as a PNG. Used by desktop_test.go against a booted image and
// against the desktop programs run on the host.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// DesktopCheck says where the portal is and how to log in.
type DesktopCheck struct {
	PortalURL string // e.g. http://127.0.0.1:1111 (no final /)
	User      string
	Password  string
	// Port is the desktop's public port (its /run/http_ports file); 6200
	// when 0.
	Port int
	// DesktopURL, when set, is opened instead of the card's Direct link
	// (which names the container's port 6200: a test that publishes it on
	// another host port says where). The card must still be there.
	DesktopURL string
	// Artefacts is the folder the screenshots go to (made if missing).
	Artefacts string
	// Chromium is the browser's path; "chromium" on PATH when empty.
	Chromium string
	// Width and Height of the browser's window; 1280x800 when 0. With
	// noVNC's resize=remote the desktop takes this size.
	Width, Height int
	// Timeout bounds the whole check; 4 minutes when 0.
	Timeout time.Duration
	// AfterFrame, when set, runs in the browser once the desktop is shown
	// (more checks in the same tab, e.g. SendClipboard, WaitClipboard).
	AfterFrame func(ctx context.Context) error
}

// DesktopResult is what the check saw.
type DesktopResult struct {
	DesktopURL string        // the card's Direct link (or DesktopCheck.DesktopURL)
	Connected  time.Time     // noVNC said it was connected
	FirstFrame time.Time     // the first screenshot that passed CheckDesktopFrame
	Screenshot string        // its file
	Frame      FrameStats    // its figures
	LoginTook  time.Duration // from the first page load to the services page
}

// ErrNotDesktop is wrapped by CheckDesktopFrame's errors.
var ErrNotDesktop = errors.New("not a desktop")

// FrameStats are the figures CheckDesktopFrame decides on.
type FrameStats struct {
	Width, Height int
	// Colours: distinct colours, each channel cut to its 5 high bits (so
	// that compression noise does not count).
	Colours int
	// Dominant: the share of the frame taken by its commonest colour.
	Dominant float64
	// PanelContrast: the larger difference (0-441, RGB distance) between
	// the mean colour of a band along the top or the bottom edge, where
	// KDE keeps its panel, and that of the band of the same height next to
	// it: a panel's edge is sharp, a wallpaper changes slowly.
	PanelContrast float64
}

// The thresholds, measured on real frames (desktop_test.go's fixtures and
// the booted image): KDE Plasma's default desktop at 1280x657 has 700 to
// 1,300 colours (the wallpaper is a photograph), no colour over a tenth of
// the screen, and a panel whose edge stands 49 to 107 apart from the
// wallpaper next to it (a light panel under a light sky is the least);
// the wallpaper alone has edges under 4, noVNC's "connecting" page has 17
// colours, its "failed to connect" page 295 with one grey over three
// quarters of it, and a black or one-colour frame has one.
const (
	minColours       = 400
	maxDominant      = 0.5
	minPanelContrast = 20
	panelBand        = 0.04 // of the height: KDE's panel is 44 px of 1080
)

// CheckDesktopFrame decides whether img shows a real desktop: many
// colours, none dominant, and a panel along the top or the bottom edge
// that stands apart from what is next to it. The error says which test failed, with
// the figures.
func CheckDesktopFrame(img image.Image) (FrameStats, error) {
	b := img.Bounds()
	st := FrameStats{Width: b.Dx(), Height: b.Dy()}
	if st.Width < 64 || st.Height < 64 {
		return st, fmt.Errorf("%w: the frame is %dx%d", ErrNotDesktop, st.Width, st.Height)
	}
	counts := map[uint16]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			counts[uint16(r>>11)<<10|uint16(g>>11)<<5|uint16(bl>>11)]++
		}
	}
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	st.Colours = len(counts)
	st.Dominant = float64(top) / float64(st.Width*st.Height)

	band := max(8, int(float64(st.Height)*panelBand))
	st.PanelContrast = max(
		distance(meanColour(img, b.Min.Y, b.Min.Y+band), meanColour(img, b.Min.Y+band, b.Min.Y+2*band)),
		distance(meanColour(img, b.Max.Y-band, b.Max.Y), meanColour(img, b.Max.Y-2*band, b.Max.Y-band)))

	switch {
	case st.Colours < minColours:
		return st, fmt.Errorf("%w: %d colours (a desktop has at least %d)", ErrNotDesktop, st.Colours, minColours)
	case st.Dominant > maxDominant:
		return st, fmt.Errorf("%w: one colour covers %.0f%% of the frame (at most %.0f%%)", ErrNotDesktop, st.Dominant*100, maxDominant*100)
	case st.PanelContrast < minPanelContrast:
		return st, fmt.Errorf("%w: no panel: the bands along the top and bottom edges differ from their neighbours by %.0f (at least %d)", ErrNotDesktop, st.PanelContrast, minPanelContrast)
	}
	return st, nil
}

// meanColour is the mean RGB (0-255) of rows [y0, y1).
func meanColour(img image.Image, y0, y1 int) [3]float64 {
	b := img.Bounds()
	var sum [3]float64
	n := 0
	for y := y0; y < y1; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum[0] += float64(r >> 8)
			sum[1] += float64(g >> 8)
			sum[2] += float64(bl >> 8)
			n++
		}
	}
	if n == 0 {
		return sum
	}
	return [3]float64{sum[0] / float64(n), sum[1] / float64(n), sum[2] / float64(n)}
}

func distance(a, b [3]float64) float64 {
	return math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
}

// Run logs in, opens the desktop and waits for a real desktop frame.
// On failure the last screenshot is kept too (desktop-last.png) and the
// error says what was seen.
func (c DesktopCheck) Run(ctx context.Context) (DesktopResult, error) {
	var res DesktopResult
	if c.Port == 0 {
		c.Port = 6200
	}
	if c.Width == 0 || c.Height == 0 {
		c.Width, c.Height = 1280, 800
	}
	if c.Timeout == 0 {
		c.Timeout = 4 * time.Minute
	}
	if c.Chromium == "" {
		p, err := exec.LookPath("chromium")
		if err != nil {
			return res, fmt.Errorf("desktop check: %w (install Debian's chromium)", err)
		}
		c.Chromium = p
	}
	if err := os.MkdirAll(c.Artefacts, 0o755); err != nil {
		return res, fmt.Errorf("desktop check: artefacts folder: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(c.Chromium),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(c.Width, c.Height),
	}
	profile, err := os.MkdirTemp("", "gpudesk-desktop-chromium")
	if err != nil {
		return res, fmt.Errorf("desktop check: %w", err)
	}
	defer os.RemoveAll(profile)
	opts = append(opts, chromedp.UserDataDir(profile))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, c.Timeout)
	defer tcancel()

	poll := func(what, expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if _, err := chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond))(ctx, tg); err != nil {
				return fmt.Errorf("waiting for %s (%s): %w", what, expr, err)
			}
			return nil
		})
	}
	start := time.Now()
	err = chromedp.Do(bctx,
		chromedp.Navigate(c.PortalURL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), c.User),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), c.Password),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`#cards`)),
	)
	if err != nil {
		return res, fmt.Errorf("desktop check: logging in at %s: %w", c.PortalURL, err)
	}
	res.LoginTook = time.Since(start)
	card := fmt.Sprintf(`.card[data-port="%d"]`, c.Port)
	err = chromedp.Do(bctx, poll("the desktop's card with a Direct link", fmt.Sprintf(
		`(() => { const c = document.querySelector('%s'); return c !== null && !c.classList.contains('dim') &&
			[...c.querySelectorAll('.links a')].some(a => a.textContent === 'Direct'); })()`, card)))
	if err != nil {
		return res, fmt.Errorf("desktop check: the portal's services: %w", err)
	}
	res.DesktopURL, err = chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelectorAll('%s .links a')].find(a => a.textContent === 'Direct').href`, card)))
	if err != nil {
		return res, fmt.Errorf("desktop check: the desktop's link: %w", err)
	}
	if !strings.Contains(res.DesktopURL, fmt.Sprintf(":%d/", c.Port)) {
		return res, fmt.Errorf("desktop check: the card's Direct link %s is not on port %d", res.DesktopURL, c.Port)
	}
	if c.DesktopURL != "" {
		res.DesktopURL = c.DesktopURL
	}
	// The link opens a new tab (target=_blank); going there in this tab
	// is the same request with the same cookie.
	err = chromedp.Do(bctx, chromedp.Navigate(res.DesktopURL))
	if err == nil {
		err = waitThroughNavigation(bctx, `document.documentElement.classList.contains('noVNC_connected')`)
	}
	if err != nil {
		c.keepLast(bctx)
		return res, fmt.Errorf("desktop check: opening %s (noVNC says %q): %w", res.DesktopURL, noVNCStatus(bctx), err)
	}
	res.Connected = time.Now()
	// Judged: the canvas's own pixels (noVNC's overlays left out), once
	// the desktop has taken the window's size (resize=remote: until then
	// the browser shows a corner of a bigger screen). Kept: what the
	// browser shows too.
	var last error
	for {
		frame, err := canvasFrame(bctx)
		if err == nil {
			var st FrameStats
			if st, err = CheckDesktopFrame(frame.img); err == nil {
				res.FirstFrame, res.Frame = time.Now(), st
				res.Screenshot = filepath.Join(c.Artefacts, "desktop.png")
				if err := c.keep(bctx, res.Screenshot, frame.png); err != nil {
					return res, err
				}
				if c.AfterFrame != nil {
					return res, c.AfterFrame(bctx)
				}
				return res, nil
			}
			os.WriteFile(filepath.Join(c.Artefacts, "desktop-last-canvas.png"), frame.png, 0o644)
		}
		last = err
		select {
		case <-bctx.Done():
			c.keepLast(context.Background())
			return res, fmt.Errorf("desktop check: no desktop on %s within %s (noVNC says %q; the last frame is in %s): %w",
				res.DesktopURL, c.Timeout, noVNCStatus(bctx), c.Artefacts, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

type frame struct {
	png []byte
	img image.Image
}

// canvasFrame returns noVNC's canvas as an image once it has the size of
// the window.
func canvasFrame(ctx context.Context) (frame, error) {
	var f frame
	url, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const c = document.querySelector('#noVNC_container canvas') || document.querySelector('canvas');
		if (!c) return 'none';
		if (c.width !== window.innerWidth || c.height !== window.innerHeight)
			return 'size ' + c.width + 'x' + c.height + ', window ' + window.innerWidth + 'x' + window.innerHeight;
		return c.toDataURL('image/png'); })()`))
	if err != nil {
		return f, fmt.Errorf("reading noVNC's canvas: %w", err)
	}
	data, ok := strings.CutPrefix(url, "data:image/png;base64,")
	if !ok {
		return f, fmt.Errorf("%w: noVNC's canvas: %s (not resized to the window yet)", ErrNotDesktop, url)
	}
	if f.png, err = base64.StdEncoding.DecodeString(data); err != nil {
		return f, fmt.Errorf("noVNC's canvas: %w", err)
	}
	if f.img, err = png.Decode(bytes.NewReader(f.png)); err != nil {
		return f, fmt.Errorf("noVNC's canvas: %w", err)
	}
	return f, nil
}

// keep writes the judged canvas as path and the browser's view next to
// it (-view.png).
func (c DesktopCheck) keep(ctx context.Context, path string, canvas []byte) error {
	if err := os.WriteFile(path, canvas, 0o644); err != nil {
		return fmt.Errorf("desktop check: %w", err)
	}
	view, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("desktop check: a screenshot: %w", err)
	}
	if err := os.WriteFile(strings.TrimSuffix(path, ".png")+"-view.png", view, 0o644); err != nil {
		return fmt.Errorf("desktop check: %w", err)
	}
	return nil
}

// waitThroughNavigation waits until expr is true in the page, across the
// landing page's redirect to vnc.html (which ends the page a plain poll
// runs in).
func waitThroughNavigation(ctx context.Context, expr string) error {
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last: %v)", expr, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SendClipboard puts text in noVNC's clipboard panel, as a person
// pasting into it does; noVNC sends it to the desktop's clipboard.
func SendClipboard(ctx context.Context, text string) error {
	js, _ := json.Marshal(text)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const t = document.getElementById('noVNC_clipboard_text');
		t.value = %s; t.dispatchEvent(new Event('change')); return true; })()`, js)))
	if err != nil {
		return fmt.Errorf("noVNC's clipboard panel: %w", err)
	}
	return nil
}

// WaitClipboard waits until noVNC's clipboard panel holds text: the
// desktop's clipboard reached the browser.
func WaitClipboard(ctx context.Context, text string) error {
	js, _ := json.Marshal(text)
	return waitThroughNavigation(ctx, fmt.Sprintf(`document.getElementById('noVNC_clipboard_text').value === %s`, js))
}

// keepLast saves what the browser shows, for a failure's report.
func (c DesktopCheck) keepLast(ctx context.Context) {
	if shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		os.WriteFile(filepath.Join(c.Artefacts, "desktop-last.png"), shot, 0o644)
	}
}

// noVNCStatus is noVNC's status line, for messages.
func noVNCStatus(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('noVNC_status') || {}).textContent || ''`))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(s)
}
