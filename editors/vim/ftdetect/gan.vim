" ganc's GAN experiment files
autocmd BufRead,BufNewFile *.gan setfiletype gan
