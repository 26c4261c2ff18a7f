package ctl

import (
	"context"
	"strings"
	"unicode/utf8"
)

func init() {
	register(&command{name: "help", run: doHelp, hidden: true, help: helpHelp})
}

const helpHeader = "default commands (type help <topic>):"

func helpHelp(c *controller) {
	c.output("help\t\tPrint a list of available actions")
	c.output("help <action>\tPrint help for <action>")
}

func doHelp(c *controller, _ context.Context, arg string) error {
	if pyStrip(arg) == "help" {
		helpHelp(c)
		return nil
	}
	if arg != "" {
		// Only the default plugin's help_ methods answer; the shell's own
		// EOF and help are not among them.
		if cmd := commands[arg]; cmd != nil && !cmd.hidden {
			cmd.help(c)
			return nil
		}
		c.output("*** No help on " + arg)
		return nil
	}
	c.output("")
	c.output(helpHeader)
	c.output(strings.Repeat("=", len(helpHeader)))
	c.columnize(topics(), 79)
	c.output("")
	return nil
}

// columnize is Python's cmd.Cmd.columnize: list in as few rows as fit in
// width, columns two spaces apart, filled top to bottom.
func (c *controller) columnize(list []string, width int) {
	size := len(list)
	switch size {
	case 0:
		c.output("<empty>")
		return
	case 1:
		c.output(list[0])
		return
	}
	nrows, ncols := size, 1
	colwidths := []int{0}
	for rows := 1; rows < size; rows++ {
		cols := (size + rows - 1) / rows
		widths := []int{}
		total := -2
		for col := 0; col < cols; col++ {
			w := 0
			for row := 0; row < rows; row++ {
				i := row + rows*col
				if i >= size {
					break
				}
				w = max(w, utf8.RuneCountInString(list[i]))
			}
			widths = append(widths, w)
			total += w + 2
			if total > width {
				break
			}
		}
		if total <= width {
			nrows, ncols, colwidths = rows, cols, widths
			break
		}
	}
	for row := 0; row < nrows; row++ {
		var texts []string
		for col := 0; col < ncols; col++ {
			i := row + nrows*col
			x := ""
			if i < size {
				x = list[i]
			}
			texts = append(texts, x)
		}
		for len(texts) > 0 && texts[len(texts)-1] == "" {
			texts = texts[:len(texts)-1]
		}
		for col := range texts {
			texts[col] = padRight(texts[col], colwidths[col])
		}
		c.output(strings.Join(texts, "  "))
	}
}
