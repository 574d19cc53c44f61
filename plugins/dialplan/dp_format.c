/* placeholder while issue 3 is built: replaced by the real file */
