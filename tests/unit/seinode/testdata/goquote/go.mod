module goquote

go 1.21
