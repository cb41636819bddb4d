module github.com/tabraft/tabraft

go 1.26
