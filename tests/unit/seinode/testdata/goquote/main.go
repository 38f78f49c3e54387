// Command goquote regenerates the Go test vectors of controllers/seinode/quoting.py:
//
//	go run . vectors < inputs.json > ../go_quote_vectors.json   (inputs: JSON list of hex byte strings)
//	go run . isprint > ../go_isprint_ranges.txt
//
// The first line of the isprint output is Go's Unicode version, then one inclusive range of
// code points per line where strconv.IsPrint is true.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"unicode"
)

func vectors() {
	var inputs []string
	if err := json.NewDecoder(os.Stdin).Decode(&inputs); err != nil {
		panic(err)
	}
	out := []map[string]string{}
	for _, h := range inputs {
		b, err := hex.DecodeString(h)
		if err != nil {
			panic(err)
		}
		out = append(out, map[string]string{"input_hex": h, "quoted": strconv.Quote(string(b))})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}

func isprint() {
	fmt.Println(unicode.Version)
	start := -1
	for r := rune(0); r <= unicode.MaxRune+1; r++ {
		p := r <= unicode.MaxRune && strconv.IsPrint(r)
		if p && start < 0 {
			start = int(r)
		} else if !p && start >= 0 {
			fmt.Printf("%d %d\n", start, int(r)-1)
			start = -1
		}
	}
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "vectors" {
		vectors()
	} else if len(os.Args) == 2 && os.Args[1] == "isprint" {
		isprint()
	} else {
		fmt.Fprintln(os.Stderr, "usage: goquote vectors|isprint")
		os.Exit(2)
	}
}
